package dev.berth.server.reload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigLoader;
import dev.berth.server.systemd.SystemdNotifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a SIGHUP applies, what it refuses, and that a refused reload changes nothing. */
class ConfigReloadTest {
    @TempDir
    Path dir;

    Path file;
    Path runc;
    Path crun;
    OciRuntimes runtimes;
    ConfigReload reload;

    void start(String yaml) throws Exception {
        runc = exe("runc");
        crun = exe("crun");
        file = dir.resolve("config.yaml");
        write(yaml);
        BerthConfig running = ConfigLoader.load(file, true, Map.of());
        runtimes = new OciRuntimes(running.runtimes(), running.defaultHandler(), dir.resolve("oci"));
        reload = new ConfigReload();
        reload.runtimes = runtimes;
        reload.systemd = new SystemdNotifier();
        reload.source(() -> ConfigLoader.load(file, true, Map.of()), running);
    }

    Path exe(String name) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\nexit 0\n");
        p.toFile().setExecutable(true);
        return p;
    }

    void write(String yaml) throws Exception {
        Files.writeString(file, yaml + "\nimage:\n  registries_conf: " + dir.resolve("registries.conf")
                + "\nseccomp:\n  default_profile: " + dir.resolve("seccomp.json") + "\n");
    }

    String runtimesYaml(String extra) {
        return "runtimes:\n  runc: " + runc + "\n  crun: " + crun + "\n" + extra;
    }

    @Test
    void logLevelAndHandlersApplyOthersWaitForARestart() throws Exception {
        start("log_level: INFO\n" + "runtimes:\n  runc: " + exe("runc") + "\n  crun: " + exe("crun") + "\n");
        Files.writeString(dir.resolve("registries.conf"), "[[registry]]\nprefix = \"docker.io\"\n"
                + "location = \"127.0.0.1:5999\"\n");
        Path kata = exe("kata");
        write("log_level: DEBUG\nhttp:\n  port: 10999\n" + runtimesYaml("  kata: " + kata + "\n"));
        ConfigReload.Outcome o = reload.reload();
        assertTrue(o.applied(), o.toString());
        assertTrue(o.changes().contains("log_level INFO -> DEBUG"), o.changes().toString());
        assertTrue(o.changes().contains("runtimes.kata added: " + kata), o.changes().toString());
        assertTrue(o.changes().stream().anyMatch(c -> c.startsWith("registries.conf ") && c.contains("1 registries")),
                o.changes().toString());
        assertTrue(o.changes().contains("changed, applied at the next restart: http.port"), o.changes().toString());
        assertEquals(kata, runtimes.forHandler("kata").binary());
        assertTrue(runtimes.handlers().contains("kata"), "new pods may ask for the new handler");
        assertEquals("DEBUG", LogLevels.current());

        // dropping a handler: new pods cannot ask for it, containers on it still find it
        write("log_level: INFO\n" + runtimesYaml(""));
        o = reload.reload();
        assertTrue(o.changes().contains("runtimes.kata removed (its running containers keep it)"), o.toString());
        assertFalse(runtimes.handlers().contains("kata"));
        assertEquals(kata, runtimes.forHandler("kata").binary());
        assertThrows(BerthException.class, () -> runtimes.forHandler("gvisor"));
        assertEquals("INFO", LogLevels.current());
    }

    @Test
    void aBadNewConfigIsRefusedWholeAndTheRunningOneStays() throws Exception {
        start("log_level: INFO\n" + "runtimes:\n  runc: " + exe("runc") + "\n  crun: " + exe("crun") + "\n");
        Map<String, Path> before = runtimes.binaries();
        // a bad value beside a good change: nothing applies
        write("log_level: LOUD\n" + runtimesYaml("  kata: " + exe("kata") + "\n"));
        ConfigReload.Outcome o = reload.reload();
        assertFalse(o.applied());
        assertTrue(o.problems().stream().anyMatch(p -> p.contains("'log_level'")), o.toString());
        assertEquals(before, runtimes.binaries());

        // a broken registries.conf, a runtime that is not there, a broken seccomp profile
        Files.writeString(dir.resolve("registries.conf"), "[[registry]\nprefix = ");
        Files.writeString(dir.resolve("seccomp.json"), "{not json");
        write("log_level: DEBUG\n" + runtimesYaml("  kata: /nonexistent/kata\n"));
        o = reload.reload();
        assertFalse(o.applied());
        String all = String.join("\n", o.problems());
        assertTrue(all.contains("image.registries_conf") && all.contains("runtimes.kata")
                && all.contains("seccomp.default_profile"), all);
        assertEquals(before, runtimes.binaries());
        assertFalse(LogLevels.current().equals("DEBUG"), "a refused reload changed the log level");
    }
}
