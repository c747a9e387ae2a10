package dev.berth.conformance.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.StatusRequest;
import runtime.v1.VersionRequest;

/**
 * The packaged daemon as a node runs it (issue 13): the command line answers without starting
 * anything; under systemd it says READY=1 once the socket serves and STOPPING=1 on SIGTERM; SIGHUP
 * reloads what it can and refuses a bad file while serving on; log lines carry no timestamp under
 * journald, are JSON on request, and a failed CRI call shows once with its ids.
 */
class NodeDaemonTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Runs the packaged jar with args (no namespace: nothing may start); returns exit code and output. */
    static Commands.Result cli(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(BerthDaemon.JVM_FLAGS);
        cmd.add("-jar");
        cmd.add(BerthDaemon.jar().toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "berth " + String.join(" ", args) + " did not exit");
        return new Commands.Result(p.exitValue(), new String(p.getInputStream().readAllBytes()));
    }

    @Test
    void theCommandLineAnswersAndExitsWithoutStartingTheDaemon() throws Exception {
        Path base = Files.createTempDirectory("berth-cli-");
        try {
            Path sock = base.resolve("berth.sock");
            Map<String, String> env = Map.of("BERTH_SOCKET", sock.toString(), "BERTH_ROOT",
                    base.resolve("root").toString(), "BERTH_RUN", base.resolve("run").toString());
            Commands.Result help = cli(env, "--help");
            assertEquals(0, help.exitCode(), help.output());
            assertTrue(help.output().contains("usage: berth"), help.output());
            Commands.Result version = cli(env, "--version");
            assertEquals(0, version.exitCode());
            assertTrue(version.output().strip().matches("berth \\S+"), version.output());
            Commands.Result bad = cli(env, "--frobnicate");
            assertEquals(2, bad.exitCode());
            assertTrue(bad.output().contains("unknown option --frobnicate") && bad.output().contains("usage: berth"),
                    bad.output());
            Commands.Result def = cli(env, "config", "default");
            assertEquals(0, def.exitCode());
            Path file = base.resolve("config.yaml");
            Files.writeString(file, def.output());
            assertEquals(0, cli(env, "config", "check", file.toString()).exitCode());
            Files.writeString(file, "http:\n  port: none\nruntimes:\n  runc: relative\nlog_format: xml\n");
            Commands.Result check = cli(env, "config", "check", file.toString());
            assertEquals(2, check.exitCode(), check.output());
            assertTrue(check.output().contains("'http.port'") && check.output().contains("'log_format'"),
                    check.output());
            // nothing started: no socket, no state
            assertFalse(Files.exists(sock));
            assertFalse(Files.exists(base.resolve("root")));
            assertFalse(Files.exists(base.resolve("run")));
        } finally {
            Commands.run("rm", "-rf", base.toString());
        }
    }

    @Test
    void underSystemdNotifiesReloadsOnSighupAndLogsWithoutItsOwnTimestamp() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/socat")), "needs socat (plays systemd's notify socket)");
        Path dir = Files.createTempDirectory("berth-notify-");
        Path notify = dir.resolve("notify");
        Process systemd = new ProcessBuilder("socat", "-u", "UNIX-RECV:" + notify, "STDOUT").start();
        StringBuffer notes = new StringBuffer();
        Thread reader = Thread.ofVirtual().start(() -> copy(systemd.getInputStream(), notes));
        BerthDaemon d = null;
        try {
            waitFor(() -> Files.exists(notify), "socat's socket");
            d = BerthDaemon.prepare(Map.of("NOTIFY_SOCKET", notify.toString(), "JOURNAL_STREAM", "8:12345"));
            d.startProcess();
            BerthDaemon daemon = d;
            waitFor(() -> notes.toString().contains("READY=1"), "READY=1");
            assertTrue(notes.toString().contains("MAINPID=" + d.pid()), notes.toString());
            String firstLine = d.logText().lines().filter(l -> l.contains("serves CRI")).findFirst().orElseThrow();
            assertTrue(firstLine.startsWith("INFO "), "a line of its own timestamp under journald: " + firstLine);

            // SIGHUP with a good change: applied, logged, still serving
            Path config = Path.of(d.env().get("BERTH_CONFIG"));
            Files.writeString(config, "log_level: DEBUG\nruntimes:\n  runc: /usr/sbin/runc\n  crun: /usr/bin/crun\n"
                    + "  second: /usr/sbin/runc\n");
            Commands.run("kill", "-HUP", Long.toString(d.pid())).orThrow();
            try {
                waitFor(() -> daemon.logText().contains("reload: runtimes.second added"), "the reload's log line");
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; berth's log:\n" + daemon.logText(), e);
            }
            assertTrue(d.logText().contains("reload: log_level INFO -> DEBUG"), d.logText());
            assertTrue(d.client().runtime().status(StatusRequest.getDefaultInstance()).getRuntimeHandlersList()
                    .stream().anyMatch(h -> h.getName().equals("second")));

            // SIGHUP with a bad file: refused, the old configuration stays, still serving
            Files.writeString(config, "log_level: LOUD\n");
            Commands.run("kill", "-HUP", Long.toString(d.pid())).orThrow();
            waitFor(() -> daemon.logText().contains("reload refused"), "the refusal");
            assertTrue(d.logText().lines().anyMatch(l -> l.contains("reload refused") && l.contains("'log_level'")),
                    d.logText());
            assertTrue(d.process().isAlive());
            assertFalse(d.client().runtime().version(VersionRequest.getDefaultInstance()).getRuntimeName().isEmpty());
            assertTrue(d.client().runtime().status(StatusRequest.getDefaultInstance()).getRuntimeHandlersList()
                    .stream().anyMatch(h -> h.getName().equals("second")), "the refused reload undid the good one");

            assertEquals(143, d.stop());
            waitFor(() -> notes.toString().contains("STOPPING=1"), "STOPPING=1");
        } finally {
            if (d != null) {
                d.close();
            }
            systemd.destroyForcibly();
            reader.join(5000);
            Commands.run("rm", "-rf", dir.toString());
        }
    }

    @Test
    void jsonLinesOnRequestAndAFailedCallLoggedOnceWithItsIds() throws Exception {
        try (BerthDaemon d = BerthDaemon.start(Map.of("BERTH_LOG_FORMAT", "json"))) {
            try {
                d.client().runtime().containerStatus(ContainerStatusRequest.newBuilder()
                        .setContainerId("no-such-container-4711").build());
            } catch (StatusRuntimeException expected) {
                // NOT_FOUND
            }
            waitFor(() -> d.logText().contains("no-such-container-4711"), "the failed call's log line");
            List<String> lines = d.logText().lines().filter(l -> l.startsWith("{")).toList();
            assertFalse(lines.isEmpty(), d.logText());
            List<String> failed = new ArrayList<>();
            for (String l : lines) {
                var node = JSON.readTree(l);
                assertTrue(node.has("time") && node.has("level") && node.has("message"), l);
                if (node.path("message").asText().contains("no-such-container-4711")) {
                    failed.add(node.path("message").asText());
                }
            }
            assertEquals(1, failed.size(), failed.toString());
            assertTrue(failed.get(0).startsWith("ContainerStatus failed: NOT_FOUND container_id=no-such-container-4711"),
                    failed.get(0));
            assertTrue(lines.stream().anyMatch(l -> l.contains("serves CRI")), "the start line is JSON too");
        }
    }

    private static void copy(InputStream in, StringBuffer into) {
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                into.append(new String(buf, 0, n));
            }
        } catch (IOException ignored) {
            // socat ended
        }
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 600; i++) { // 60 s: a loaded 2-core machine starts the JVM slowly
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out waiting for " + what);
    }
}
