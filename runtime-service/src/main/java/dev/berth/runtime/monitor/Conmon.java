package dev.berth.runtime.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import dev.berth.linux.Fifos;
import dev.berth.linux.host.ProcessTable;
import dev.berth.runtime.oci.OciRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Starts conmon, the per-container monitor: it runs {@code <runtime> create}, holds the
 * container's stdio, writes the CRI log file itself, and records the exit code in
 * {@code exitDir/<id>} and {@code <persistDir>/exit} when the container ends. conmon daemonizes
 * in its own session, so containers and their monitors outlive the daemon; and it is moved out of
 * the daemon's cgroup into the pod's monitor leaf ({@link Launch#monitorCgroup}), so systemd
 * stopping or restarting the daemon's unit (KillMode=control-group kills the whole cgroup) does
 * not kill it either.
 */
public final class Conmon {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(Conmon.class.getName());
    private static final long CREATE_TIMEOUT_MS = 120_000;
    private static final long REOPEN_TIMEOUT_MS = 10_000;

    private final Path binary;
    private final Path exitDir;
    private final Path socketDir;
    private final ProcessTable processes;

    public Conmon(Path binary, Path exitDir, Path socketDir, ProcessTable processes) {
        this.binary = binary;
        this.exitDir = exitDir;
        this.socketDir = socketDir;
        this.processes = processes;
        try {
            Files.createDirectories(exitDir);
            Files.createDirectories(socketDir);
        } catch (IOException e) {
            throw BerthException.internal("cannot create conmon directories under " + exitDir.getParent(), e);
        }
    }

    /** The process table conmon is spawned, signalled and found through (exec monitors too). */
    public ProcessTable processes() {
        return processes;
    }

    /**
     * What conmon needs for one container.
     *
     * @param persistDir per-container directory where conmon leaves "exit" (and "oom") files
     * @param logPath the CRI log file (conmon's k8s-file driver)
     * @param monitorCgroup the cgroup v2 directory (a host path under the cgroup2 mount, absolute in
     *     the hierarchy, never relative to the daemon's own cgroup) conmon is moved into; null: left
     *     where the daemon is (no cgroup2 mount, unit tests)
     */
    public record Launch(String id, String name, Path bundle, Path persistDir, Path logPath, OciRuntime runtime,
            boolean terminal, boolean stdin, boolean stdinOnce, Path monitorCgroup) {
        public Launch(String id, String name, Path bundle, Path persistDir, Path logPath, OciRuntime runtime,
                boolean terminal, boolean stdin, boolean stdinOnce) {
            this(id, name, bundle, persistDir, logPath, runtime, terminal, stdin, stdinOnce, null);
        }
    }

    /** Creates the container through conmon; returns the container's init pid (host view). */
    public int create(Launch l) {
        return launch(l, argv(l));
    }

    /**
     * Restores the container from CRIU images through conmon ({@code --restore}: conmon runs
     * {@code <runtime> restore --detach --image-path}); the container runs once this returns its pid.
     */
    public int restore(Launch l, Path imagePath, Path workPath) {
        List<String> argv = argv(l);
        argv.addAll(List.of("--restore", imagePath.toString(), "--runtime-opt=--work-path=" + workPath));
        return launch(l, argv);
    }

    /**
     * How long conmon may stay silent once its runtime is gone. conmon reports within milliseconds of
     * {@code runc create} ending; when it does not, it is blocked reading the runtime's output, held
     * open by a process the runtime left (a {@code runc init} whose {@code runc create} was killed),
     * and would only give up at its own timeout, two minutes later.
     */
    static final long RUNTIME_GONE_GRACE_MS = 3_000;

    /** Asked while conmon has not reported: has the runtime it runs for this create gone? */
    private final class RuntimeWatch {
        private final Path persistDir;
        private final long started;
        private long goneSince = -1;
        volatile boolean gone;

        RuntimeWatch(Path persistDir, long started) {
            this.persistDir = persistDir;
            this.started = started;
        }

        boolean reportWillNotCome() {
            long now = System.nanoTime();
            if (runtimeRunning(now)) {
                goneSince = -1;
                return false;
            }
            if (goneSince < 0) {
                goneSince = now;
            }
            gone = now - goneSince >= RUNTIME_GONE_GRACE_MS * 1_000_000L;
            return gone;
        }

        /** True while the monitor is not known yet, or a child of it runs the runtime's create/restore. */
        private boolean runtimeRunning(long now) {
            Optional<Integer> monitor = monitorPid(persistDir);
            if (monitor.isEmpty()) {
                // not written yet (conmon starting), or the monitor died: give it the grace from the start
                return now - started < RUNTIME_GONE_GRACE_MS * 1_000_000L;
            }
            for (int child : processes.children(monitor.get())) {
                String cmdline = " " + processes.cmdline(child) + " ";
                if (cmdline.contains(" create ") || cmdline.contains(" restore ")) {
                    return true;
                }
            }
            return false;
        }
    }

    private List<String> argv(Launch l) {
        List<String> argv = new ArrayList<>(List.of(
                binary.toString(),
                "--api-version", "1",
                "-c", l.id(), "-u", l.id(), "-n", l.name(),
                "-r", l.runtime().binary().toString(),
                "--runtime-arg", "--root=" + l.runtime().root(),
                "-b", l.bundle().toString(),
                "-p", l.bundle().resolve("pidfile").toString(),
                "-P", l.persistDir().resolve("conmon.pid").toString(),
                "--persist-dir", l.persistDir().toString(),
                "--exit-dir", exitDir.toString(),
                "--socket-dir-path", socketDir.toString(),
                "-l", "k8s-file:" + l.logPath(),
                "--log-level", "error"));
        // Attach needs these: -t gives the container a terminal conmon holds the master of, -i
        // keeps its stdin open for attach clients; without stdin_once stdin stays open when an
        // attached client leaves (CRI stdin_once closes it after the first client).
        if (l.terminal()) {
            argv.add("-t");
        } else if (l.stdin()) {
            if (!l.stdinOnce()) {
                argv.add("--leave-stdin-open");
            }
            argv.add("-i");
        }
        return argv;
    }

    private int launch(Launch l, List<String> argv) {
        // conmon's first process forks the monitor and exits at once; the table reaps it
        // (spawn and report are one step of the table: the monitor is moved into its cgroup once it
        // reported, below; it is born in the daemon's and moved before the container starts)
        RuntimeWatch watch = new RuntimeWatch(l.persistDir(), System.nanoTime());
        ProcessTable.Report r = processes.spawnReporting(argv, environment(), 64 * 1024, CREATE_TIMEOUT_MS,
                watch::reportWillNotCome);
        try {
            if (r.timedOut() && watch.gone) {
                throw BerthException.internal("creating container " + l.id() + " failed: the OCI runtime ("
                        + l.runtime().binary().getFileName() + ") exited without conmon reporting the container"
                        + " (killed, or a process it left holds its output)", null);
            }
            if (r.timedOut()) {
                throw BerthException.internal("conmon for container " + l.id() + " did not report within "
                        + CREATE_TIMEOUT_MS / 1000 + "s", null);
            }
            String text = r.line().strip();
            if (text.isEmpty()) {
                throw BerthException.internal("conmon for container " + l.id()
                        + " exited without reporting a pid; see its exit and the runtime's log", null);
            }
            JsonNode n = JSON.readTree(text);
            int value = n.has("data") ? n.get("data").asInt() : n.path("pid").asInt(-1);
            if (value <= 0) {
                throw BerthException.internal("creating container " + l.id() + " failed: "
                        + n.path("message").asText("(no message)").strip(), null);
            }
            monitorPid(l.persistDir()).ifPresent(monitor -> intoMonitorCgroup(l, monitor, true));
            return value;
        } catch (IOException e) {
            throw BerthException.internal("conmon for container " + l.id() + " sent no JSON", e);
        }
    }

    /**
     * One command to exec in a running container, under a conmon of its own that stays the
     * daemon's child ({@code --sync}): it runs {@code <runtime> exec --detach}, adopts the process
     * as subreaper, reaps it and reports its pid and exit code on the sync pipe (fd 3). With
     * {@code -l passthrough} the process gets conmon's stdin/stdout/stderr directly.
     *
     * @param consoleSocket where the runtime sends the terminal master (process.json has terminal
     *     true), or null without a terminal
     */
    public record ExecLaunch(String containerId, String execId, OciRuntime runtime, Path processJson, Path pidFile,
            Path consoleSocket) {}

    /** The command line of an exec monitor; the caller passes the sync pipe as fd 3. */
    public List<String> execArgv(ExecLaunch l) {
        List<String> argv = new ArrayList<>(List.of(
                binary.toString(),
                "--api-version", "1",
                "--sync",
                "-e", "--exec-process-spec", l.processJson().toString(),
                "-c", l.containerId(), "-u", l.execId(), "-n", l.containerId(),
                "-r", l.runtime().binary().toString(),
                "--runtime-arg", "--root=" + l.runtime().root(),
                "-p", l.pidFile().toString(),
                "-l", "passthrough",
                "--log-level", "error"));
        if (l.consoleSocket() != null) {
            argv.add("--runtime-opt=--console-socket=" + l.consoleSocket());
        }
        return argv;
    }

    /** Environment of a conmon process: the sync pipe and a PATH for the runtime's helpers. */
    public static Map<String, String> environment() {
        return Map.of("_OCI_SYNCPIPE", "3", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    }

    /** Short-path directory for sockets (conmon's attach links, exec console sockets). */
    public Path socketDir() {
        return socketDir;
    }

    /**
     * The directory holding the container's attach socket ({@code attach}, SOCK_SEQPACKET): conmon
     * links {@code <socketDir>/<id>} to the bundle, one byte shorter when that path would be exactly
     * 107 bytes long (conmon's own rule).
     */
    public Path attachDir(String id) {
        String link = socketDir.resolve(id).toString();
        if (link.length() == 107) {
            link = link.substring(0, 106);
        }
        return Path.of(link);
    }

    /** Resizes the container's terminal through conmon's control FIFO; false when conmon is gone. */
    public static boolean resize(Path bundle, int columns, int rows) {
        return Fifos.writeIfRead(bundle.resolve("ctl"),
                ("1 " + rows + " " + columns + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** The exit code conmon recorded, if the container has ended. */
    public Optional<Exit> exit(String id, Path persistDir) {
        for (Path p : List.of(exitDir.resolve(id), persistDir.resolve("exit"))) {
            if (!Files.exists(p)) {
                continue; // the common case (a running container), asked without an exception per look
            }
            try {
                String s = Files.readString(p, StandardCharsets.UTF_8).strip();
                if (s.isEmpty()) {
                    continue; // being written
                }
                FileTime t = Files.getLastModifiedTime(p);
                return Optional.of(new Exit(Integer.parseInt(s), t.to(java.util.concurrent.TimeUnit.NANOSECONDS),
                        Files.exists(persistDir.resolve("oom"))));
            } catch (NoSuchFileException e) {
                // not ended yet, or not this file
            } catch (IOException | NumberFormatException e) {
                throw BerthException.internal("cannot read exit file " + p + ": " + e.getMessage(), e);
            }
        }
        return Optional.empty();
    }

    /** Where conmon writes the exit code of {@code id}. */
    public Path exitFile(String id) {
        return exitDir.resolve(id);
    }

    /** The directory conmon writes exit files to (one per container, named by its id). */
    public Path exitDir() {
        return exitDir;
    }

    /** Forgets a removed container's exit file. */
    public void forget(String id) {
        try {
            Files.deleteIfExists(exitDir.resolve(id));
        } catch (IOException ignored) {
            // a leftover exit file is harmless: ids are never reused
        }
    }

    /**
     * Asks conmon to reopen the log file (after kubelet rotated it) and returns once the file is
     * back at {@code logPath}: conmon reads its control FIFO in its own time, and kubelet looks for
     * the new file as soon as the call returns (CRI-O waits for it the same way). False when
     * conmon is gone.
     */
    public boolean reopenLog(Path bundle, Path logPath, Path persistDir) {
        if (!Fifos.writeIfRead(bundle.resolve("ctl"), "2 0 0\n".getBytes(StandardCharsets.US_ASCII))) {
            return false;
        }
        long deadline = System.nanoTime() + REOPEN_TIMEOUT_MS * 1_000_000L;
        long sleep = 1;
        while (!Files.exists(logPath)) {
            if (monitorPid(persistDir).isEmpty()) {
                return false;
            }
            if (System.nanoTime() > deadline) {
                throw BerthException.internal("conmon did not reopen " + logPath + " within "
                        + REOPEN_TIMEOUT_MS / 1000 + "s", null);
            }
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw BerthException.internal("interrupted while waiting for " + logPath, e);
            }
            sleep = Math.min(sleep * 2, 50);
        }
        return true;
    }

    /**
     * Moves {@code pid} into the launch's monitor cgroup (made when missing). A failure is logged,
     * not thrown: the container runs all the same, its monitor only stays in the daemon's cgroup.
     */
    private void intoMonitorCgroup(Launch l, int pid, boolean mustStay) {
        Path dir = l.monitorCgroup();
        if (dir == null || !Files.exists(dir.getParent().resolve("cgroup.controllers"))) {
            return;
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("cgroup.procs"), Integer.toString(pid));
        } catch (IOException e) {
            if (mustStay || processes.alive(pid)) {
                LOG.warning("conmon " + pid + " of container " + l.id() + " stays in the daemon's cgroup: cannot "
                        + "move it into " + dir + ": " + e.getMessage());
            }
        }
    }

    /** The monitor's pid from its pid file, if it is still running. */
    public Optional<Integer> monitorPid(Path persistDir) {
        try {
            int pid = Integer.parseInt(Files.readString(persistDir.resolve("conmon.pid")).strip());
            if (pid <= 0 || !processes.alive(pid)) {
                return Optional.empty();
            }
            // After a reboot the number may belong to another process: it must be this monitor.
            String cmdline = processes.cmdline(pid);
            return cmdline.contains(persistDir.toString()) ? Optional.of(pid) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** A recorded exit: code, when (file mtime, ns since epoch), and whether conmon saw an OOM kill. */
    public record Exit(int code, long finishedAtNanos, boolean oomKilled) {}
}
