package dev.berth.runtime.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.linux.Fds;
import dev.berth.linux.Processes;
import dev.berth.linux.Terminals;
import dev.berth.linux.UnixSockets;
import dev.berth.linux.host.ProcessTable;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntime;
import dev.berth.runtime.stdio.ByteQueue;
import dev.berth.runtime.stdio.FdRelay;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One command running inside a running container as the container's own process runs (its
 * process.json is the container's, with other args): user, env, cwd, capabilities, seccomp,
 * no_new_privs, namespaces and cgroup come from the runtime joining the container.
 *
 * <p>A conmon of its own ({@link Conmon#execArgv}) runs {@code <runtime> exec --detach}, adopts
 * the process as subreaper, reaps it and reports pid and exit code on a sync pipe; it stays the
 * daemon's child, which reaps it. Without a terminal the process writes straight into the pipes
 * given here; with one, the runtime sends the terminal master to a console socket of ours. One
 * platform thread relays the stdio ({@link FdRelay}); when the process ends its output is drained
 * without waiting for children that still hold a pipe open.
 */
public final class ExecProcess implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long START_TIMEOUT_MS = 60_000;
    private static final long REAP_TIMEOUT_MS = 10_000;
    private static final byte EOT = 4;

    /** What to run where; streams not asked for are /dev/null to the process. */
    public record Request(String containerId, OciRuntime runtime, Path configJson, Path workDir, List<String> cmd,
            boolean tty, boolean stdin, boolean stdout, boolean stderr) {}

    private final String execId;
    private final ProcessTable processes;
    private final int conmonPid;
    private final FdRelay relay;
    private final ByteQueue stdinQueue;
    private final ByteQueue stdoutQueue;
    private final ByteQueue stderrQueue;
    private final CompletableFuture<Integer> started = new CompletableFuture<>();
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final ByteArrayOutputStream syncText = new ByteArrayOutputStream();
    private final List<Path> files;
    private Thread thread;
    private int resizeFd = -1;
    private boolean closed;

    private ExecProcess(String execId, ProcessTable processes, int conmonPid, FdRelay relay, ByteQueue stdinQueue, ByteQueue stdoutQueue,
            ByteQueue stderrQueue, List<Path> files) {
        this.execId = execId;
        this.processes = processes;
        this.conmonPid = conmonPid;
        this.relay = relay;
        this.stdinQueue = stdinQueue;
        this.stdoutQueue = stdoutQueue;
        this.stderrQueue = stderrQueue;
        this.files = files;
    }

    /**
     * Starts the command and returns once it runs (or throws when the runtime could not start it).
     *
     * @param queueBytes bound of each stream's buffer in the daemon
     */
    public static ExecProcess start(Conmon conmon, Request r, int queueBytes) {
        if (r.cmd().isEmpty()) {
            throw BerthException.invalid("exec command is empty");
        }
        String execId = HexFormat.of().formatHex(randomBytes(8));
        Path processJson = r.workDir().resolve("exec-" + execId + ".json");
        Path pidFile = r.workDir().resolve("exec-" + execId + ".pid");
        Path consoleSocket = r.tty() ? conmon.socketDir().resolve("exec-" + execId + ".sock") : null;
        List<Path> files = consoleSocket == null ? List.of(processJson, pidFile)
                : List.of(processJson, pidFile, consoleSocket);
        writeProcessJson(r, processJson);

        FdRelay relay = new FdRelay();
        Map<Integer, Integer> childFds = new HashMap<>();
        List<Integer> childEnds = new java.util.ArrayList<>();
        int stdinFd = -1;
        int stdoutFd = -1;
        int stderrFd = -1;
        int listenFd = -1;
        Processes.Pipe sync = Processes.pipe();
        childFds.put(3, sync.write());
        childEnds.add(sync.write());
        int conmonPid;
        try {
            if (r.tty()) {
                listenFd = UnixSockets.listen(consoleSocket);
            } else {
                if (r.stdin()) {
                    Processes.Pipe p = Processes.pipe();
                    childFds.put(0, p.read());
                    childEnds.add(p.read());
                    stdinFd = p.write();
                }
                if (r.stdout()) {
                    Processes.Pipe p = Processes.pipe();
                    childFds.put(1, p.write());
                    childEnds.add(p.write());
                    stdoutFd = p.read();
                }
                if (r.stderr()) {
                    Processes.Pipe p = Processes.pipe();
                    childFds.put(2, p.write());
                    childEnds.add(p.write());
                    stderrFd = p.read();
                }
            }
            conmonPid = conmon.processes().spawn(conmon.execArgv(new Conmon.ExecLaunch(r.containerId(), execId,
                    r.runtime(), processJson, pidFile, consoleSocket)), Conmon.environment(), childFds);
        } catch (RuntimeException e) {
            for (int fd : new int[] {sync.read(), stdinFd, stdoutFd, stderrFd, listenFd}) {
                Processes.close(fd);
            }
            childEnds.forEach(Processes::close);
            relay.stop();
            relay.run(); // closes its wake-up pipe
            deleteQuietly(files);
            throw e;
        }
        childEnds.forEach(Processes::close);

        ByteQueue in = r.stdin() ? new ByteQueue(queueBytes, relay.waker()) : null;
        ByteQueue out = r.stdout() ? new ByteQueue(queueBytes, relay.waker()) : null;
        ByteQueue err = r.stderr() && !r.tty() ? new ByteQueue(queueBytes, relay.waker()) : null;
        ExecProcess p = new ExecProcess(execId, conmon.processes(), conmonPid, relay, in, out, err, files);
        int syncFd = sync.read();
        int[] pipes = {stdinFd, stdoutFd, stderrFd, listenFd};
        p.thread = Thread.ofPlatform().daemon(true).name("berth-exec-" + execId)
                .start(() -> p.run(r, syncFd, pipes));
        try {
            p.started.get(START_TIMEOUT_MS + REAP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            p.close();
            Throwable c = e.getCause();
            throw c instanceof BerthException b ? b
                    : BerthException.internal("exec in container " + r.containerId() + ": " + c, c);
        } catch (TimeoutException | InterruptedException e) {
            p.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw BerthException.internal("exec in container " + r.containerId() + " did not start", e);
        }
        return p;
    }

    /** The session's thread: wait until the process runs, relay its stdio, reap the monitor. */
    private void run(Request r, int syncFd, int[] pipes) {
        int stdinFd = pipes[0];
        int stdoutFd = pipes[1];
        int stderrFd = pipes[2];
        int listenFd = pipes[3];
        int master = -1;
        try {
            if (r.tty()) {
                master = receiveConsole(listenFd, syncFd, r.containerId());
                listenFd = closeNow(listenFd);
                resizeFd = Fds.dupAtLeast(master, 3);
            }
            int pid = readPid(syncFd, stderrFd, r);
            started.complete(pid);
            if (master >= 0) {
                if (stdoutQueue != null) {
                    relay.output(master, stdoutQueue);
                } else {
                    relay.output(master, null);
                }
                if (stdinQueue != null) {
                    relay.input(master, stdinQueue, fd -> Fds.write(fd, new byte[] {EOT}, 0, 1));
                }
                master = -1;
            } else {
                if (stdinFd >= 0) {
                    relay.input(stdinFd, stdinQueue, null);
                    stdinFd = -1;
                }
                if (stdoutFd >= 0) {
                    relay.output(stdoutFd, stdoutQueue);
                    stdoutFd = -1;
                }
                if (stderrFd >= 0) {
                    relay.output(stderrFd, stderrQueue);
                    stderrFd = -1;
                }
            }
            relay.control(syncFd, data -> syncText.writeBytes(data), relay::drainOutputs);
            syncFd = -1;
            relay.run();
        } catch (RuntimeException e) {
            started.completeExceptionally(e);
            relay.stop();
            relay.run(); // releases the descriptors given so far
        } finally {
            for (int fd : new int[] {syncFd, stdinFd, stdoutFd, stderrFd, listenFd, master}) {
                Processes.close(fd);
            }
            int status = processes.waitFor(conmonPid, REAP_TIMEOUT_MS);
            if (status < 0) {
                processes.kill(conmonPid, Processes.SIGKILL);
                processes.waitFor(conmonPid, REAP_TIMEOUT_MS);
            }
            exit.complete(exitCode(syncText.toString(StandardCharsets.UTF_8)));
            for (ByteQueue q : new ByteQueue[] {stdoutQueue, stderrQueue}) {
                if (q != null) {
                    q.finish();
                }
            }
            deleteQuietly(files);
        }
    }

    /** Waits for the runtime to send the terminal master over the console socket. */
    private static int receiveConsole(int listenFd, int syncFd, String containerId) {
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        int conn = -1;
        try {
            while (true) {
                int wait = (int) Math.max(0, deadline - System.currentTimeMillis());
                if (wait == 0) {
                    throw BerthException.internal("the runtime sent no terminal for exec in container "
                            + containerId + " within " + START_TIMEOUT_MS / 1000 + "s", null);
                }
                int target = conn >= 0 ? conn : listenFd;
                short[] rev = new short[2];
                Fds.poll(new int[] {target, syncFd}, new short[] {Fds.POLLIN, Fds.POLLIN}, rev, wait);
                if (rev[0] != 0) {
                    if (conn < 0) {
                        conn = UnixSockets.accept(listenFd);
                        continue;
                    }
                    int master = UnixSockets.receiveFd(conn);
                    if (master < 0) {
                        throw BerthException.internal("the runtime closed the console socket without sending a "
                                + "terminal (exec in container " + containerId + ")", null);
                    }
                    return master;
                }
                if (rev[1] != 0) {
                    // conmon spoke (or ended) before any terminal came: the runtime failed.
                    throw BerthException.internal("the runtime could not start the command in container "
                            + containerId, null);
                }
            }
        } finally {
            Processes.close(conn);
        }
    }

    /** The first sync message: the process's host pid, or why it did not start. */
    private static int readPid(int syncFd, int stderrFd, Request r) {
        Processes.ReadResult line = Processes.readLine(syncFd, 64 * 1024, START_TIMEOUT_MS);
        String text = line.text().strip();
        int pid = -1;
        String message = "";
        if (!text.isEmpty()) {
            try {
                JsonNode n = JSON.readTree(text);
                pid = n.path("data").asInt(-1);
                message = n.path("message").asText("");
            } catch (IOException e) {
                message = text;
            }
        }
        if (pid > 0) {
            return pid;
        }
        if (message.isEmpty() && stderrFd >= 0) {
            // With passthrough the runtime's complaint went to the process's stderr.
            byte[] buf = new byte[4096];
            int n = Fds.read(stderrFd, buf, 0, buf.length);
            message = n > 0 ? new String(buf, 0, n, StandardCharsets.UTF_8).strip() : "";
        }
        throw BerthException.precondition("cannot exec %s in container %s: %s", r.cmd(), r.containerId(),
                message.isEmpty() ? "the runtime could not start it (is the container running?)" : message);
    }

    /** The exit code from conmon's last sync message; -1 when it sent none (it was killed). */
    private static int exitCode(String syncText) {
        String[] lines = syncText.strip().split("\n");
        String last = lines[lines.length - 1].strip();
        if (last.isEmpty()) {
            return -1;
        }
        try {
            JsonNode n = JSON.readTree(last);
            return n.has("data") ? n.get("data").asInt(-1) : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    private static void writeProcessJson(Request r, Path processJson) {
        try {
            JsonNode spec = JSON.readTree(r.configJson().toFile());
            ObjectNode process = ((ObjectNode) spec.get("process")).deepCopy();
            process.put("terminal", r.tty());
            ArrayNode args = process.putArray("args");
            r.cmd().forEach(args::add);
            process.remove("consoleSize");
            if (r.tty()) {
                ArrayNode env = process.has("env") ? (ArrayNode) process.get("env") : process.putArray("env");
                boolean hasTerm = false;
                for (JsonNode e : env) {
                    hasTerm |= e.asText().startsWith("TERM=");
                }
                if (!hasTerm) {
                    env.add("TERM=xterm"); // as containerd does for exec with a terminal
                }
            }
            dev.berth.core.fs.OwnerOnly.writeFile(processJson, JSON.writeValueAsString(process));
        } catch (IOException | RuntimeException e) {
            throw BerthException.internal("cannot write the exec process spec for container " + r.containerId()
                    + ": " + e.getMessage(), e);
        }
    }

    /** The process's host pid. */
    public int pid() {
        return started.join();
    }

    /** The process's stdin (null when not asked for); closing it is end of file (Ctrl-D with a terminal). */
    public OutputStream stdin() {
        return stdinQueue == null ? null : stdinQueue.outputStream();
    }

    public InputStream stdout() {
        return stdoutQueue == null ? null : stdoutQueue.inputStream();
    }

    /** Null with a terminal: the terminal carries both. */
    public InputStream stderr() {
        return stderrQueue == null ? null : stderrQueue.inputStream();
    }

    /** Sets the terminal's size (the process gets SIGWINCH); ignored without a terminal. */
    public synchronized void resize(int columns, int rows) {
        if (resizeFd >= 0 && !closed) {
            Terminals.setSize(resizeFd, new Terminals.Size(columns, rows));
        }
    }

    /** The exit code (128+signal when killed by one); -1 if the session was closed first. */
    public int awaitExit() throws InterruptedException {
        try {
            return exit.get();
        } catch (ExecutionException e) {
            return -1;
        }
    }

    /** The exit code, or null when the process still runs after {@code millis}. */
    public Integer awaitExit(long millis) throws InterruptedException {
        try {
            return exit.get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            return -1;
        }
    }

    /** SIGKILLs the process and everything it started (still its descendants). */
    public void kill() {
        if (!exit.isDone()) {
            killTree();
        }
    }

    private void killTree() {
        if (started.isDone() && !started.isCompletedExceptionally()) {
            processes.killTree(started.join(), conmonPid);
        }
    }

    /** Kills the process if it still runs and releases its descriptors and thread. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            resizeFd = closeNow(resizeFd);
        }
        if (!exit.isDone()) {
            killTree();
            exit.complete(-1); // closed before an exit was seen
        }
        relay.stop();
        if (stdinQueue != null) {
            stdinQueue.abort();
        }
        try {
            if (thread != null) {
                thread.join(REAP_TIMEOUT_MS * 2);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "exec " + execId;
    }

    private static int closeNow(int fd) {
        Processes.close(fd);
        return -1;
    }

    private static void deleteQuietly(List<Path> files) {
        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException ignored) {
                // a leftover file in the container's directory goes away with the container
            }
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }
}
