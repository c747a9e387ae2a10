package dev.berth.linux.host;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Processes of the node: starting monitors and infra processes, signalling, looking them up. */
public interface ProcessTable {
    /** What a reporting process said on its sync pipe, and the pid of the process spawned. */
    record Report(int pid, String line, boolean timedOut) {}

    /**
     * Spawns {@code argv} in a new session with the write end of a pipe as fd 3 (conmon's sync
     * pipe), reads one line from it (at most {@code maxLine} bytes, {@code timeoutMillis}), and reaps
     * the spawned process, which is expected to exit once it has daemonized.
     */
    Report spawnReporting(List<String> argv, Map<String, String> env, int maxLine, long timeoutMillis);

    /**
     * As {@link #spawnReporting(List, Map, int, long)}, but asks {@code giveUp} about every half
     * second while no line came: true ends the wait at once (reported as timed out), for a caller
     * that can tell the report will never come (conmon blocked on a dead runtime's output).
     */
    default Report spawnReporting(List<String> argv, Map<String, String> env, int maxLine, long timeoutMillis,
            java.util.function.BooleanSupplier giveUp) {
        return spawnReporting(argv, env, maxLine, timeoutMillis);
    }

    /**
     * Spawns {@code argv} in a new session, with each {@code childFd -> parentFd} of {@code fds}
     * dup'ed into it (stdio not named there is /dev/null). The process stays the daemon's child:
     * the caller reaps it with {@link #waitFor}.
     */
    int spawn(List<String> argv, Map<String, String> env, Map<Integer, Integer> fds);

    /**
     * Reaps the daemon's child {@code pid}, waiting up to {@code timeoutMillis}: its exit status
     * (128+signal when a signal ended it), or -1 when it still runs.
     */
    int waitFor(int pid, long timeoutMillis);

    /**
     * SIGKILLs {@code root} and all its descendants, stopping them first so a forking process leaves
     * no child behind. With {@code expectedParent} above 0 the root is only touched while that is its
     * parent (a reaped pid may have been reused). Returns how many processes were signalled.
     */
    int killTree(int root, int expectedParent);

    /** Starts a long-lived program with no stdio that outlives the daemon; returns its pid. */
    int startDetached(List<String> argv);

    /** Whether a process with this pid exists (kill(pid, 0)). */
    boolean alive(int pid);

    /** kill(pid, sig); false when there is no such process. */
    boolean kill(int pid, int signal);

    /** The command line of {@code pid}, arguments separated by spaces; empty when it is gone. */
    String cmdline(int pid);

    /** The direct children of {@code pid}. */
    List<Integer> children(int pid);

    /** Every pid of the node (this PID namespace). */
    List<Integer> pids();

    /** Whether /proc/PID/ns/{@code kind} is there (the process, or its zombie, still exists). */
    boolean hasNamespaceFile(int pid, String kind);

    /** /proc/PID/ns/{@code kind}. */
    static Path namespaceFile(int pid, String kind) {
        return Path.of("/proc", Integer.toString(pid), "ns", kind);
    }
}
