package dev.berth.runtime.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.linux.Processes;
import dev.berth.linux.host.ProcessTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The init of a pod's shared PID namespace (namespace_options.pid = POD). No image and nothing to
 * download: {@code unshare --pid --fork --kill-child} starts Debian's static busybox shell as PID 1
 * of a new PID namespace, looping on {@code wait} so orphans of the pod's containers are reaped
 * (what a pause binary does). busybox-static has no library dependencies and unshare is in
 * util-linux, which every node has; building a C binary at build time would need a compiler in CI.
 * The pod id is passed as $0 so a pid found after a restart can be recognised before it is killed.
 */
public final class InfraProcess {
    private static final List<Path> BUSYBOX = List.of(Path.of("/bin/busybox"), Path.of("/usr/bin/busybox"));
    // The waiting child runs as "busybox sleep" so its comm is "busybox": containers of the pod
    // share this PID namespace, and a process of theirs named "sleep" must be theirs alone
    // (critest's execSync-with-timeout spec checks with `pgrep sleep` that its exec is gone).
    private static final String SCRIPT = "trap 'exit 0' TERM INT; while :; do busybox sleep 2147483647 & wait; done";

    private final ProcessTable processes;

    public InfraProcess(ProcessTable processes) {
        this.processes = processes;
    }

    private static final long INFRA_START_TIMEOUT_NANOS = 60_000_000_000L;

    /** A started infra: the namespace's init and its unshare parent. */
    public record Started(int initPid, int parentPid) {}

    public static boolean available() {
        return BUSYBOX.stream().anyMatch(Files::isExecutable);
    }

    public Started start(String sandboxId) {
        return start(sandboxId, null);
    }

    /**
     * Starts the infra; with {@code userNamespace} (a pod with its own user namespace) inside it, via
     * {@code nsenter --user}, so the new PID namespace is owned by the pod's user namespace and its
     * containers may mount /proc for it.
     */
    public Started start(String sandboxId, Path userNamespace) {
        Path busybox = BUSYBOX.stream().filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> BerthException.precondition("a shared PID namespace needs busybox at /bin/busybox "
                        + "(Debian package busybox-static)"));
        List<String> argv = new java.util.ArrayList<>();
        if (userNamespace != null) {
            // nsenter becomes root of that namespace (uid/gid 0) before it runs unshare
            argv.addAll(List.of("nsenter", "--user=" + userNamespace, "--"));
        }
        argv.addAll(List.of("unshare", "--pid", "--fork", "--kill-child", busybox.toString(), "sh", "-c", SCRIPT,
                marker(sandboxId)));
        int parent = processes.startDetached(argv);
        // generous: on a loaded node (or under emulation) unshare and busybox take seconds to exec
        long deadline = System.nanoTime() + INFRA_START_TIMEOUT_NANOS;
        while (System.nanoTime() < deadline) {
            for (int child : children(parent)) {
                if (cmdline(child).contains(marker(sandboxId))) {
                    return new Started(child, parent);
                }
            }
            if (!processes.alive(parent)) {
                break;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean timedOut = processes.alive(parent);
        processes.kill(parent, Processes.SIGKILL);
        throw BerthException.internal("the infra process of pod " + sandboxId + " did not start"
                + (timedOut ? " within 60 s" : " (unshare exited)"), null);
    }

    /** Whether pid is still this pod's infra (not a reused pid). */
    public boolean isAlive(String sandboxId, int pid) {
        return pid > 0 && cmdline(pid).contains(marker(sandboxId));
    }

    /** Kills the infra (and with it every process of the PID namespace); repeatable. */
    public void stop(String sandboxId, int initPid, int parentPid) {
        // Kill the namespace's init only: its unshare parent reaps it at once and exits by itself
        // (killing the parent too would leave the init's zombie to a slower reaper).
        if (isAlive(sandboxId, initPid)) {
            processes.kill(initPid, Processes.SIGKILL);
        } else if (isAlive(sandboxId, parentPid)) {
            processes.kill(parentPid, Processes.SIGKILL);
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        // the namespace is gone once its init has been reaped
        while ((isAlive(sandboxId, initPid) || (cmdline(initPid).isEmpty() && processes.hasNamespaceFile(initPid, "pid")))
                && System.nanoTime() < deadline) {
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Pids whose command line carries the pod's marker (an infra a crash left unrecorded). */
    public List<Integer> findByMarker(String sandboxId) {
        List<Integer> out = new java.util.ArrayList<>();
        for (int pid : processes.pids()) {
            if (cmdline(pid).contains(marker(sandboxId))) {
                out.add(pid);
            }
        }
        return out;
    }

    public static Path pidNamespace(int pid) {
        return ProcessTable.namespaceFile(pid, "pid");
    }

    private static String marker(String sandboxId) {
        return "berth-infra-" + sandboxId;
    }

    private String cmdline(int pid) {
        return pid > 0 ? processes.cmdline(pid) : "";
    }

    private List<Integer> children(int pid) {
        return processes.children(pid);
    }
}
