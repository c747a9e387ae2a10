package dev.berth.runtime.container;

import dev.berth.linux.testing.FakeLinuxHost;
import dev.berth.linux.testing.FakeProcesses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The program "conmon" on the recording {@link FakeLinuxHost}. A container's monitor (no
 * {@code -e}) daemonizes (its pid to {@code -P}), "runs the runtime's create", which makes the
 * init {@code runc-init ID} under it, and reports the init's pid, or what {@link #outcome} says.
 * An exec monitor ({@code -e}) writes what {@link #execReplies} set to the command's stdout and
 * stderr and to its sync pipe, through the real pipes berth gives it. Shared by the
 * runtime-service tests and (through the test-jar) cri-server's in-process daemon.
 */
public final class FakeConmon {
    /** How the runtime's create under the monitor ends. */
    public enum Outcome {
        WORKS,
        /** The runtime failed with its init left behind, and the monitor is still there. */
        RUNTIME_FAILS,
        /** As RUNTIME_FAILS, with the init reparented away from the monitor (only its cgroup finds it). */
        RUNTIME_FAILS_INIT_ORPHANED,
        /** The monitor reports nothing at all. */
        SAYS_NOTHING
    }

    /** How the next create ends. */
    public volatile Outcome outcome = Outcome.WORKS;
    /** Called with (container id, init pid) once the init exists: where a test puts it into a cgroup. */
    public volatile BiConsumer<String, Integer> onInit = (id, pid) -> {};
    private volatile String execStdout;
    private volatile String execStderr;
    private volatile String execSync = "{\"data\": 4242}\n{\"data\": 0}";
    private volatile Integer lastPid;

    private FakeConmon() {}

    /** Makes this the host's conmon. */
    public static FakeConmon install(FakeLinuxHost host) {
        FakeConmon conmon = new FakeConmon();
        host.processes().program("conmon", conmon::run);
        return conmon;
    }

    /**
     * What exec monitors say from now on: {@code stdout} and {@code stderr} to the command's
     * descriptors (null: nothing), {@code sync} to the sync pipe (null: silent). Until set, an exec
     * reports pid 4242 and exit code 0.
     */
    public void execReplies(String stdout, String stderr, String sync) {
        execStdout = stdout;
        execStderr = stderr;
        execSync = sync;
    }

    /** The pid of the last conmon spawned. */
    public Integer lastPid() {
        return lastPid;
    }

    private String run(FakeProcesses procs, int pid, List<String> argv, Map<String, String> env) {
        lastPid = pid;
        return argv.contains("-e") ? exec(procs, pid) : create(procs, argv);
    }

    private String exec(FakeProcesses procs, int pid) {
        Map<Integer, Integer> fds = procs.fdsOf(pid);
        if (execStdout != null && fds.containsKey(1)) {
            FakeProcesses.write(fds.get(1), execStdout);
        }
        if (execStderr != null && fds.containsKey(2)) {
            FakeProcesses.write(fds.get(2), execStderr);
        }
        return execSync;
    }

    private String create(FakeProcesses procs, List<String> argv) {
        String id = argv.get(argv.indexOf("-c") + 1);
        Outcome now = outcome;
        int mon = procs.add(0, argv);
        int p = argv.indexOf("-P");
        if (p >= 0) {
            try {
                Files.writeString(Path.of(argv.get(p + 1)), Integer.toString(mon));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        int init = procs.add(now == Outcome.RUNTIME_FAILS_INIT_ORPHANED ? 0 : mon, List.of("runc-init", id));
        onInit.accept(id, init);
        return switch (now) {
            case WORKS -> "{\"data\": " + init + "}";
            case RUNTIME_FAILS, RUNTIME_FAILS_INIT_ORPHANED -> "{\"data\": -1, \"message\": \"runc create failed: "
                    + "unable to start container process: exec: \\\"nope\\\": executable file not found\"}";
            case SAYS_NOTHING -> "";
        };
    }
}
