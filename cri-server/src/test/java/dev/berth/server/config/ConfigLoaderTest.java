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
        assertEquals("127.0.0.1", c.streamHost());
        assertEquals(10361, c.streamPort());
        assertEquals(java.time.Duration.ofHours(4), c.streamIdleTimeout());
        assertEquals(128, c.streamMaxSessions());
    }

    @Test
    void streamingKeysAreChecked() {
        BerthConfig c = ConfigLoader.load(dir.resolve("absent.yaml"), false, Map.of("BERTH_STREAM_PORT", "0",
                "BERTH_STREAM_MAX_SESSIONS", "2"));
        assertEquals(0, c.streamPort());
        assertEquals(2, c.streamMaxSessions());
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(dir.resolve("x.yaml"), false, Map.of("BERTH_STREAM_PORT", "70000")));
        assertTrue(e.getMessage().contains("stream.port"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir.resolve("x.yaml"), false,
                Map.of("BERTH_STREAM_IDLE_TIMEOUT_SECONDS", "0")));
        assertTrue(e.getMessage().contains("stream.idle_timeout_seconds"), e.getMessage());
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
