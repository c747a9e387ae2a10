package dev.berth.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void defaultsApplyWithoutAFile() {
        BerthConfig c = ConfigLoader.load(dir.resolve("absent.yaml"), false, Map.of());
        assertEquals(Path.of("/run/berth/berth.sock"), c.socket());
        assertEquals(Path.of("/var/lib/berth"), c.root());
        assertEquals(Path.of("/usr/sbin/runc"), c.runtimes().get("runc"));
        assertEquals(List.of(Path.of("/opt/cni/bin"), Path.of("/usr/lib/cni")), c.cniBinDirs());
        assertEquals(3, c.maxConcurrentDownloads());
    }

    @Test
    void fileThenEnvironmentOverride() throws Exception {
        Path f = dir.resolve("config.yaml");
        Files.writeString(f, """
                socket: /tmp/a.sock
                http:
                  port: 9999
                runtimes:
                  kata: /opt/kata/bin/kata-runtime
                cni:
                  bin_dirs: [/a, /b]
                """);
        BerthConfig c = ConfigLoader.load(f, true, Map.of("BERTH_SOCKET", "/tmp/b.sock", "BERTH_ROOT", "/tmp/root",
                "BERTH_REGISTRIES_CONF", "/tmp/registries.conf"));
        assertEquals(Path.of("/tmp/registries.conf"), c.registriesConf());
        assertEquals(Path.of("/tmp/b.sock"), c.socket());
        assertEquals(Path.of("/tmp/root"), c.root());
        assertEquals(9999, c.httpPort());
        assertEquals(Path.of("/opt/kata/bin/kata-runtime"), c.runtimes().get("kata"));
        assertEquals(List.of(Path.of("/a"), Path.of("/b")), c.cniBinDirs());
    }

    @Test
    void badValuesNameTheKeyAndTheVariable() throws Exception {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(dir.resolve("x.yaml"), false, Map.of("BERTH_ROOT", "relative/dir")));
        assertTrue(e.getMessage().contains("'root'") && e.getMessage().contains("BERTH_ROOT"), e.getMessage());
        Path f = dir.resolve("c.yaml");
        Files.writeString(f, "runtime:\n  default_handler: kata\n");
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, true, Map.of()));
        assertTrue(e.getMessage().contains("runtime.default_handler"), e.getMessage());
        assertThrows(ConfigException.class, () -> ConfigLoader.load(dir.resolve("missing.yaml"), true, Map.of()));
    }

    @Test
    void renderedDefaultsLoadBackToTheDefaults() throws Exception {
        Path f = dir.resolve("defaults.yaml");
        Files.writeString(f, ConfigLoader.renderDefaults());
        BerthConfig fromFile = ConfigLoader.load(f, true, Map.of());
        BerthConfig builtIn = ConfigLoader.load(dir.resolve("none.yaml"), false, Map.of());
        assertEquals(builtIn.asMap(), fromFile.asMap());
    }
}
