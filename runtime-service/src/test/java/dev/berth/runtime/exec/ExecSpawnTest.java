package dev.berth.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.linux.Errno;
import dev.berth.linux.testing.FakeLinuxHost;
import dev.berth.runtime.container.FakeConmon;
import dev.berth.runtime.container.FakeOciRuntime;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
    private final FakeConmon fakeConmon = FakeConmon.install(host);
    private OciRuntime runtime;

    @BeforeEach
    void setUp() throws IOException {
        conmon = new Conmon(Path.of("/usr/bin/conmon"), tmp.resolve("run/exits"), tmp.resolve("run/attach"),
                host.processes());
        runner = new ExecRunner(conmon, 1 << 20);
        runtime = new FakeOciRuntime("runc", tmp.resolve("run"), host);
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
        fakeConmon.execReplies(stdout, null, sync);
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
        int monitor = fakeConmon.lastPid();
        assertTrue(host.calls("processes.waitFor").stream().anyMatch(c -> c.arg(0).equals(Integer.toString(monitor))),
                "the exec conmon " + monitor + " was reaped: " + host.calls("processes."));
        assertEquals(List.of(), host.calls("processes.killTree"), "no process ran, so no tree was killed");
        assertNothingLeft(pipes);
    }

    @Test
    void conmonThatSaysNothingFailsTheExecWithTheRuntimesWords() throws IOException {
        // the runtime's complaint goes to the process's stderr with passthrough; conmon dies silent
        fakeConmon.execReplies(null, "runc exec: container_linux.go: no such process\n", null);

        BerthException e = assertThrows(BerthException.class, this::exec);

        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("no such process"), e.getMessage());
        assertTrue(host.calls("processes.waitFor").stream().anyMatch(c -> c.arg(0).equals(fakeConmon.lastPid().toString())));
        assertEquals(List.of(), host.processes().live());
    }
}
