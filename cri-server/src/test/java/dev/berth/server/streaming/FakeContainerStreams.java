package dev.berth.server.streaming;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.stream.ContainerStreams;
import dev.berth.runtime.stream.StdioSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * ContainerStreams for the streaming server's tests: exec runs the command as a local process
 * ({@code /bin/sh -c ...}), except {@code ["generate", N]} which streams N pattern bytes from memory
 * and counts how far it has been read; attach is {@code cat} (echo stdin); port-forward connects to
 * 127.0.0.1:port. Every session is recorded so tests can check it was closed.
 */
final class FakeContainerStreams implements ContainerStreams {
    final List<Session> sessions = new CopyOnWriteArrayList<>();
    final AtomicInteger portForwards = new AtomicInteger();

    @Override
    public StdioSession exec(String containerId, List<String> cmd, boolean tty, boolean stdin, boolean stdout,
            boolean stderr) {
        if (containerId.equals("gone")) {
            throw BerthException.precondition("container %s is not running", containerId);
        }
        Session s = cmd.get(0).equals("generate")
                ? new Generated(Long.parseLong(cmd.get(1)))
                : new Local(cmd, tty, stdin, stdout, stderr);
        sessions.add(s);
        return s;
    }

    @Override
    public StdioSession attach(String containerId, boolean stdin, boolean stdout, boolean stderr) {
        Session s = new Local(List.of("cat"), false, stdin, stdout, stderr);
        sessions.add(s);
        return s;
    }

    @Override
    public SocketChannel portForward(String podSandboxId, int port) throws IOException {
        portForwards.incrementAndGet();
        try {
            return SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
        } catch (ConnectException e) {
            throw new IOException("connection refused to localhost:" + port + " in pod " + podSandboxId, e);
        }
    }

    abstract static class Session implements StdioSession {
        final List<int[]> resizes = new CopyOnWriteArrayList<>();
        volatile boolean closed;

        @Override
        public void resize(int columns, int rows) {
            resizes.add(new int[] {columns, rows});
        }
    }

    /** A local process; with a "TTY" stderr is merged into stdout (no real terminal here). */
    static final class Local extends Session {
        final Process process;
        final boolean stdin;
        final boolean stdout;
        final boolean stderr;

        Local(List<String> cmd, boolean tty, boolean stdin, boolean stdout, boolean stderr) {
            this.stdin = stdin;
            this.stdout = stdout;
            this.stderr = stderr && !tty;
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd.get(0).equals("cat") ? List.of("cat")
                        : List.of("/bin/sh", "-c", String.join(" ", cmd)));
                pb.redirectErrorStream(tty);
                if (!stdin) {
                    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
                }
                process = pb.start();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public OutputStream stdin() {
            return stdin ? process.getOutputStream() : null;
        }

        @Override
        public InputStream stdout() {
            return stdout ? process.getInputStream() : null;
        }

        @Override
        public InputStream stderr() {
            return stderr ? process.getErrorStream() : null;
        }

        @Override
        public int awaitExit() throws InterruptedException {
            int code = process.waitFor();
            return closed && code > 128 ? -1 : code;
        }

        @Override
        public void close() {
            closed = true;
            process.destroyForcibly();
        }
    }

    /** N bytes of a known pattern (byte i is i % 251), read lazily: counts what the server has taken. */
    static final class Generated extends Session {
        final long size;
        final AtomicLong produced = new AtomicLong();
        private final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);

        Generated(long size) {
            this.size = size;
        }

        @Override
        public OutputStream stdin() {
            return null;
        }

        @Override
        public InputStream stdout() {
            return new InputStream() {
                @Override
                public int read() {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    long at = produced.get();
                    if (closed || at >= size) {
                        done.countDown();
                        return -1;
                    }
                    int n = (int) Math.min(len, size - at);
                    for (int i = 0; i < n; i++) {
                        b[off + i] = (byte) ((at + i) % 251);
                    }
                    produced.addAndGet(n);
                    return n;
                }
            };
        }

        @Override
        public InputStream stderr() {
            return null;
        }

        @Override
        public int awaitExit() throws InterruptedException {
            done.await();
            return closed && produced.get() < size ? -1 : 0;
        }

        @Override
        public void close() {
            closed = true;
            done.countDown();
        }
    }
}
