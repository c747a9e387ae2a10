package dev.berth.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.linux.Errno;
import dev.berth.linux.testing.FakeLinuxHost;
import dev.berth.linux.testing.FakeProcesses;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciFeatures;
import dev.berth.runtime.oci.OciRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ExecSync's monitor on the recording fake host: conmon's spawn failing, the runtime refusing the
 * command, and a command that runs, with the exec conmon reaped and no pipe or file left behind
 * in each case. The fake conmon speaks through the real pipes berth gives it. No root needed.
 */
class ExecSpawnTest {
    @TempDir
    Path tmp;

    private final FakeLinuxHost host = new FakeLinuxHost();
    private Conmon conmon;
    private ExecRunner runner;
    private Path configJson;
    private Path workDir;
    /** The pid the fake gave the last conmon spawned. */
    private final AtomicReference<Integer> lastConmon = new AtomicReference<>();

    private final OciRuntime runtime = new OciRuntime() {
        @Override
        public String handler() {
            return "runc";
        }

        @Override
        public Path binary() {
            return Path.of("/usr/sbin/runc");
        }

        @Override
        public Path root() {
            return tmp.resolve("run/runc");
        }

        @Override
        public OciFeatures features() {
            return OciFeatures.NONE;
        }

        @Override
        public void start(String id) {}

        @Override
        public void kill(String id, String signal) {}

        @Override
        public void delete(String id, boolean force) {}

        @Override
        public Optional<OciState> state(String id) {
            return Optional.of(new OciState("running", 4242));
        }

        @Override
        public void update(String id, Path resourcesJson) {}

        @Override
        public List<String> execCommand(String id, Path processJson, Path pidFile) {
            return List.of();
        }
    };

    @BeforeEach
    void setUp() throws IOException {
        conmon = new Conmon(Path.of("/usr/bin/conmon"), tmp.resolve("run/exits"), tmp.resolve("run/attach"),
                host.processes());
        runner = new ExecRunner(conmon, 1 << 20);
        configJson = Files.writeString(tmp.resolve("config.json"),
                "{\"process\": {\"args\": [\"sh\"], \"env\": [\"PATH=/bin\"], \"cwd\": \"/\"}}");
        workDir = Files.createDirectories(tmp.resolve("work"));
    }

    private ExecRunner.Result exec() {
        return runner.run(runtime, "c1", configJson, workDir, List.of("cat", "/etc/hostname"), 10);
    }

    /** Pipes this JVM holds open (the relay's, the exec's stdio and sync pipes). */
    private static long openPipes() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().startsWith("pipe:");
                } catch (IOException gone) {
                    return false; // the directory stream's own descriptor, closed meanwhile
                }
            }).count();
        }
    }

    /** What the exec conmon left: no monitor running, no process.json, pid file or console socket. */
    private void assertNothingLeft(long pipesBefore) throws IOException {
        assertEquals(List.of(), host.processes().live(), "processes left");
        try (var s = Files.list(workDir)) {
            assertEquals(List.of(), s.toList(), "exec files left");
        }
        assertEquals(pipesBefore, openPipes(), "pipes left open");
    }

    /** A conmon that writes {@code stdout} to the command's stdout and {@code sync} to its sync pipe. */
    private void conmonSays(String stdout, String sync) {
        host.processes().program("conmon", (procs, pid, argv, env) -> {
            lastConmon.set(pid);
            Map<Integer, Integer> fds = procs.fdsOf(pid);
            if (stdout != null && fds.containsKey(1)) {
                FakeProcesses.write(fds.get(1), stdout);
            }
            return sync;
        });
    }

    @Test
    void commandThatRunsReportsItsOutputAndExitCodeAndTheMonitorIsReaped() throws IOException {
        conmonSays("myhost\n", "{\"data\": 4242}\n{\"data\": 3}\n");
        exec(); // classes and the JDK's own pipes settle before counting
        long pipes = openPipes();
        host.clearCalls();

        ExecRunner.Result r = exec();

        assertEquals(3, r.exitCode());
        assertEquals("myhost\n", new String(r.stdout(), StandardCharsets.UTF_8));
        List<String> ops = host.ops();
        assertEquals(List.of("processes.spawn", "processes.waitFor"), ops.stream()
                .filter(o -> o.startsWith("processes.")).toList(), ops.toString());
        // conmon got the sync pipe as fd 3 and the command's stdout and stderr; stdin was not asked for
        assertEquals("[1, 2, 3]", host.calls("processes.spawn").get(0).arg(2));
        assertTrue(host.calls("processes.spawn").get(0).arg(0).contains("--exec-process-spec"));
        assertNothingLeft(pipes);
    }

    @Test
    void conmonThatCannotBeSpawnedFailsTheExecAndLeavesNothing() throws IOException {
        conmonSays("", "{\"data\": 4242}\n{\"data\": 0}\n");
        exec();
        long pipes = openPipes();
        host.clearCalls();
        host.failNext("processes.spawn", Errno.EAGAIN);

        BerthException e = assertThrows(BerthException.class, this::exec);

        assertTrue(e.getMessage().contains("processes.spawn"), e.getMessage());
        assertEquals(List.of(), host.calls("processes.waitFor"), "nothing was started, nothing to reap");
        assertNothingLeft(pipes);
    }

    @Test
    void commandTheRuntimeRefusesIsAPreconditionFailureAndTheMonitorIsReaped() throws IOException {
        conmonSays("", "{\"data\": 4242}\n{\"data\": 0}\n");
        exec();
        long pipes = openPipes();
        conmonSays(null, "{\"data\": -1, \"message\": \"exec failed: container c1 is not running\"}\n");
        host.clearCalls();

        BerthException e = assertThrows(BerthException.class, this::exec);

        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("container c1 is not running"), e.getMessage());
        int monitor = lastConmon.get();
        assertTrue(host.calls("processes.waitFor").stream().anyMatch(c -> c.arg(0).equals(Integer.toString(monitor))),
                "the exec conmon " + monitor + " was reaped: " + host.calls("processes."));
        assertEquals(List.of(), host.calls("processes.killTree"), "no process ran, so no tree was killed");
        assertNothingLeft(pipes);
    }

    @Test
    void conmonThatSaysNothingFailsTheExecWithTheRuntimesWords() throws IOException {
        // the runtime's complaint goes to the process's stderr with passthrough; conmon dies silent
        host.processes().program("conmon", (procs, p, argv, env) -> {
            lastConmon.set(p);
            FakeProcesses.write(procs.fdsOf(p).get(2), "runc exec: container_linux.go: no such process\n");
            return null;
        });

        BerthException e = assertThrows(BerthException.class, this::exec);

        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("no such process"), e.getMessage());
        assertTrue(host.calls("processes.waitFor").stream().anyMatch(c -> c.arg(0).equals(lastConmon.get().toString())));
        assertEquals(List.of(), host.processes().live());
    }
}
