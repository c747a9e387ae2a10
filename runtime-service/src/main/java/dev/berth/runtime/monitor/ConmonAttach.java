package dev.berth.runtime.monitor;

import dev.berth.core.error.BerthException;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Processes;
import dev.berth.linux.UnixSockets;
import dev.berth.runtime.stdio.ByteQueue;
import dev.berth.runtime.stdio.FdRelay;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * One client attached to a container's stdio through conmon's attach socket (SOCK_SEQPACKET in
 * the directory {@link Conmon#attachDir}). conmon sends every chunk the container writes to all
 * attached clients as one packet whose first byte names the stream (2 stdout, 3 stderr: the
 * stdpipe_t values of conmon's utils.h, see ctr_stdio.c); what a client writes goes to the container's stdin (when
 * it was created with stdin); a client shutting its side down is end of input for stdin_once
 * containers. The terminal is resized through the bundle's control FIFO. conmon closes the
 * socket once the container has ended and its output is drained.
 */
public final class ConmonAttach implements AutoCloseable {
    private final FdRelay relay;
    private final ByteQueue stdin;
    private final ByteQueue stdout;
    private final ByteQueue stderr;
    private final Path bundle;
    private final CompletableFuture<Boolean> ended = new CompletableFuture<>();
    private volatile boolean closed;
    private Thread thread;

    private ConmonAttach(FdRelay relay, ByteQueue stdin, ByteQueue stdout, ByteQueue stderr, Path bundle) {
        this.relay = relay;
        this.stdin = stdin;
        this.stdout = stdout;
        this.stderr = stderr;
        this.bundle = bundle;
    }

    /**
     * Connects to the attach socket in {@code attachDir}.
     *
     * @param bundle the container's bundle (its {@code ctl} FIFO resizes the terminal)
     */
    public static ConmonAttach open(String containerId, Path attachDir, Path bundle, boolean stdin, boolean stdout,
            boolean stderr, int queueBytes) {
        int fd;
        try {
            fd = UnixSockets.connectSeqpacket(attachDir, "attach");
        } catch (LinuxException e) {
            throw BerthException.precondition("cannot attach to container %s: its monitor does not accept "
                    + "clients (%s)", containerId, e.getMessage());
        }
        FdRelay relay;
        try {
            relay = new FdRelay();
        } catch (RuntimeException e) {
            Processes.close(fd);
            throw e;
        }
        ByteQueue in = stdin ? new ByteQueue(queueBytes, relay.waker()) : null;
        ByteQueue out = stdout ? new ByteQueue(queueBytes, relay.waker()) : null;
        ByteQueue err = stderr ? new ByteQueue(queueBytes, relay.waker()) : null;
        relay.packets(fd, out, err);
        if (in != null) {
            relay.input(fd, in, UnixSockets::shutdownWrite);
        }
        ConmonAttach a = new ConmonAttach(relay, in, out, err, bundle);
        a.thread = Thread.ofPlatform().daemon(true).name("berth-attach-" + containerId.substring(0,
                Math.min(12, containerId.length()))).start(() -> {
                    try {
                        relay.run();
                    } finally {
                        a.ended.complete(!a.closed);
                    }
                });
        return a;
    }

    public OutputStream stdin() {
        return stdin == null ? null : stdin.outputStream();
    }

    public InputStream stdout() {
        return stdout == null ? null : stdout.inputStream();
    }

    public InputStream stderr() {
        return stderr == null ? null : stderr.inputStream();
    }

    /** Resizes the container's terminal; false when its monitor is gone. */
    public boolean resize(int columns, int rows) {
        return Conmon.resize(bundle, columns, rows);
    }

    /** Waits until the attach ends: true when conmon ended it (the container is over), false when closed. */
    public boolean awaitEnd() throws InterruptedException {
        try {
            return ended.get();
        } catch (ExecutionException e) {
            return false;
        }
    }

    /** Detaches: the container goes on. Idempotent. */
    @Override
    public void close() {
        closed = true;
        relay.stop();
        if (stdin != null) {
            stdin.abort();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
