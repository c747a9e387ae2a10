package dev.berth.linux.ns;

import dev.berth.core.error.BerthException;
import dev.berth.linux.Processes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A short-lived process that holds a new user namespace and, owned by it, new namespaces of the
 * other kinds asked for. The JVM cannot unshare(CLONE_NEWUSER) itself (the kernel allows that only
 * to a single-threaded process), so util-linux's {@code unshare} does it in a child which then
 * sleeps. Meanwhile the caller writes the id maps from outside (root of the parent namespace may
 * map any range), pins the namespaces it wants by bind-mounting {@link #namespaceFile}, and closes
 * the holder, which kills and reaps the child.
 */
public final class UserNamespaceHolder implements AutoCloseable {
    private static final List<Path> UNSHARE = List.of(Path.of("/usr/bin/unshare"), Path.of("/bin/unshare"));
    private static final long START_TIMEOUT_NANOS = 5_000_000_000L;

    private final int pid;
    private boolean closed;

    private UserNamespaceHolder(int pid) {
        this.pid = pid;
    }

    /**
     * Starts the holder in a new user namespace plus new namespaces of {@code otherKinds} (any of
     * {@link Namespaces#CLONE_NEWNET}, {@link Namespaces#CLONE_NEWIPC}, {@link Namespaces#CLONE_NEWUTS})
     * and returns once they all exist.
     */
    public static UserNamespaceHolder start(int otherKinds) {
        Path unshare = UNSHARE.stream().filter(Files::isExecutable).findFirst().orElseThrow(() ->
                BerthException.precondition("user namespaces need unshare (Debian package util-linux)"));
        List<String> argv = new ArrayList<>(List.of(unshare.toString(), "--user"));
        List<String> kinds = new ArrayList<>(List.of("user"));
        if ((otherKinds & Namespaces.CLONE_NEWNET) != 0) {
            argv.add("--net");
            kinds.add("net");
        }
        if ((otherKinds & Namespaces.CLONE_NEWIPC) != 0) {
            argv.add("--ipc");
            kinds.add("ipc");
        }
        if ((otherKinds & Namespaces.CLONE_NEWUTS) != 0) {
            argv.add("--uts");
            kinds.add("uts");
        }
        // sleep bounds the holder's life should the daemon die before closing it
        argv.addAll(List.of("--", "sleep", "60"));
        int pid = Processes.spawn(argv, Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), Map.of(), true);
        UserNamespaceHolder h = new UserNamespaceHolder(pid);
        try {
            h.awaitNamespaces(kinds);
        } catch (RuntimeException e) {
            h.close();
            throw e;
        }
        return h;
    }

    private void awaitNamespaces(List<String> kinds) {
        long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
        while (true) {
            Integer exited = Processes.tryWait(pid);
            if (exited != null) {
                closed = true;
                throw BerthException.precondition("unshare --user exited with status %d before making the pod's "
                        + "namespaces; are user namespaces enabled (/proc/sys/user/max_user_namespaces)?", exited);
            }
            if (kinds.stream().allMatch(this::isNew)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw BerthException.internal("unshare --user did not make its namespaces within 5s", null);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw BerthException.internal("interrupted while waiting for unshare", e);
            }
        }
    }

    /** Whether the holder's namespace of this kind differs from the daemon's own (unshare has run). */
    private boolean isNew(String kind) {
        try {
            return !Files.readSymbolicLink(namespaceFile(kind))
                    .equals(Files.readSymbolicLink(Path.of("/proc/self/ns", kind)));
        } catch (IOException e) {
            return false;
        }
    }

    public int pid() {
        return pid;
    }

    /** {@code /proc/<pid>/ns/<kind>}: bind-mount it to pin the namespace past the holder's life. */
    public Path namespaceFile(String kind) {
        return Path.of("/proc", Integer.toString(pid), "ns", kind);
    }

    /**
     * Writes the uid and gid maps, each in lines of "inside outside length" (see man 7
     * user_namespaces). Each file takes one write only, and only once.
     */
    public void writeMaps(String uidMap, String gidMap) {
        writeMap("uid_map", uidMap);
        writeMap("gid_map", gidMap);
    }

    private void writeMap(String file, String content) {
        Path p = Path.of("/proc", Integer.toString(pid), file);
        try {
            Files.write(p, content.getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw BerthException.internal("cannot write " + p + " (\"" + content.strip() + "\"): " + e.getMessage(), e);
        }
    }

    /** Kills and reaps the holder; the namespaces live on where they were pinned. Repeatable. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Processes.kill(pid, Processes.SIGKILL);
        Processes.waitFor(pid, 5000);
    }
}
