package dev.berth.conformance.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.conformance.harness.BerthDaemon;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import runtime.v1.VersionRequest;

/** Start-up and shutdown as an operator sees them: clear one-line errors, stale sockets, SIGTERM. */
class DaemonStartupTest {

    @Test
    void badConfigFileExitsWithOneLineNamingTheKey() throws Exception {
        try (BerthDaemon d = BerthDaemon.prepare(Map.of())) {
            Path cfg = d.base().resolve("bad.yaml");
            Files.writeString(cfg, "image:\n  max_concurrent_downloads: not-a-number\n");
            d.env().put("BERTH_CONFIG", cfg.toString());
            assertEquals(2, d.runToExit(60));
            String log = d.logText().strip();
            assertTrue(log.startsWith("berth: config " + cfg), log);
            assertTrue(log.contains("image.max_concurrent_downloads") && log.contains("not-a-number"), log);
            assertEquals(1, log.lines().count(), log);
        }
    }

    @Test
    void unknownKeyAndBrokenYamlAreRejected() throws Exception {
        try (BerthDaemon d = BerthDaemon.prepare(Map.of())) {
            Path cfg = d.base().resolve("typo.yaml");
            Files.writeString(cfg, "sockett: /run/x.sock\n");
            d.env().put("BERTH_CONFIG", cfg.toString());
            assertEquals(2, d.runToExit(60));
            assertTrue(d.logText().contains("unknown key 'sockett'"), d.logText());

            Files.writeString(cfg, "root: [unclosed\n");
            Files.writeString(d.log(), "");
            assertEquals(2, d.runToExit(60));
            assertTrue(d.logText().contains("is not valid YAML"), d.logText());
        }
    }

    @Test
    void missingRuncExitsNamingItAndTheFix() throws Exception {
        try (BerthDaemon d = BerthDaemon.prepare(Map.of("BERTH_RUNTIMES_RUNC", "/nonexistent/runc"))) {
            assertEquals(3, d.runToExit(60));
            String log = d.logText().strip();
            assertTrue(log.contains("runc not found at /nonexistent/runc"), log);
            assertTrue(log.contains("apt-get install runc"), log);
            assertFalse(Files.exists(d.socket()), "no socket when the daemon cannot run");
        }
    }

    @Test
    void staleSocketIsReplacedAndSigtermRemovesIt() throws Exception {
        try (BerthDaemon d = BerthDaemon.prepare(Map.of())) {
            Files.createDirectories(d.socket().getParent());
            Files.writeString(d.socket(), "left behind by a crashed daemon");
            d.startProcess();
            assertEquals("berth", d.client().runtime().version(VersionRequest.getDefaultInstance()).getRuntimeName());
            // 143 = 128 + SIGTERM: the JVM's exit status after a signal-initiated clean shutdown.
            int exit = d.stop();
            assertTrue(exit == 0 || exit == 143, "exit " + exit + "\n" + d.logText());
            assertTrue(d.logText().contains("berth stopped"), d.logText());
            assertFalse(Files.exists(d.socket()), "socket removed on SIGTERM");
        }
    }

    @Test
    void readinessGoesDownNamingWhatBroke() throws Exception {
        Path tools = Files.createTempDirectory("berth-tools-");
        Path conmon = tools.resolve("conmon");
        try {
            Files.copy(Path.of("/usr/bin/conmon"), conmon);
            try (BerthDaemon d = BerthDaemon.start(Map.of("BERTH_CONMON", conmon.toString()))) {
                assertEquals(200, DaemonFoundationTest.status(d, "/q/health/ready"));
                Files.setPosixFilePermissions(conmon, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
                var r = DaemonFoundationTest.fetch(d, "/q/health/ready");
                assertEquals(503, r.statusCode());
                assertTrue(r.body().contains("conmon is not executable at " + conmon), r.body());
                assertEquals(200, DaemonFoundationTest.status(d, "/q/health/live"), "still live: only not ready");
            }
        } finally {
            Files.deleteIfExists(conmon);
            Files.deleteIfExists(tools);
        }
    }

    @Test
    void stateSurvivesKill9() throws Exception {
        try (BerthDaemon d = BerthDaemon.start()) {
            Path db = d.root().resolve("state/berth.db");
            assertTrue(Files.exists(db), "state store created under the root");
            d.kill9();
            d.startProcess();
            assertEquals("berth", d.client().runtime().version(VersionRequest.getDefaultInstance()).getRuntimeName());
        }
    }
}
