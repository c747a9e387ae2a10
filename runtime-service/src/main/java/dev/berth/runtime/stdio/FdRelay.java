package dev.berth.runtime.stdio;

import dev.berth.core.error.BerthException;
import dev.berth.linux.Fds;
import dev.berth.linux.Processes;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Moves bytes between a process's stdio descriptors and {@link ByteQueue}s, on the one platform
 * thread that calls {@link #run}. It waits in poll(2) and never blocks in read or write, so it can
 * stop at any time. Backpressure: an output whose queue is full is not read until the client takes
 * from the queue, so the process blocks on its own pipe and the daemon's heap does not grow.
 *
 * <p>The relay ends when every output and control descriptor has reached end of file. Once a
 * control says the process is gone ({@link #drainOutputs}), outputs are read only until they
 * would block: what the process wrote before it ended is delivered, while a background child that
 * still holds a pipe open cannot keep the session alive. A child that keeps writing cannot either:
 * draining an output ends after {@link #DRAIN_MAX_BYTES} (more than any pipe or terminal holds, so
 * more than the process itself can have left) or {@link #DRAIN_GRACE_MS} of reading, whichever
 * comes first; time spent waiting for a slow client does not count, so a process's last output is
 * never cut. Every descriptor given to the relay is closed when {@link #run} returns.
 */
public final class FdRelay {
    /** conmon's attach socket: each packet starts with its stream (conmon's stdpipe_t: 2 stdout, 3 stderr). */
    public static final int STDOUT_PACKET = 2;
    public static final int STDERR_PACKET = 3;
    private static final int CHUNK = 32 * 1024;
    private static final int DRAIN_POLL_MS = 50;
    /** /proc/sys/fs/pipe-max-size's default: no pipe holds more. */
    static final long DRAIN_MAX_BYTES = 1L << 20;
    static final long DRAIN_GRACE_MS = 1000;

    private final int wakeRead;
    private final int wakeWrite;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final List<Output> outputs = new ArrayList<>();
    private final List<Control> controls = new ArrayList<>();
    private final Set<Integer> owned = new LinkedHashSet<>();
    private Input input;
    private volatile boolean stopped;
    private volatile boolean draining;

    public FdRelay() {
        Processes.Pipe wake = Processes.pipe();
        Fds.setNonBlocking(wake.read());
        Fds.setNonBlocking(wake.write());
        this.wakeRead = wake.read();
        this.wakeWrite = wake.write();
    }

    /** What {@link ByteQueue}s call when the relay may make progress. */
    public Runnable waker() {
        return this::wake;
    }

    /** Reads {@code fd} into {@code queue} (null: read and drop). */
    public FdRelay output(int fd, ByteQueue queue) {
        outputs.add(new Output(fd, queue, null, null));
        own(fd);
        return this;
    }

    /** Reads packets from {@code fd}, each into the queue its first byte names (2 stdout, 3 stderr). */
    public FdRelay packets(int fd, ByteQueue stdout, ByteQueue stderr) {
        outputs.add(new Output(fd, null, stdout, stderr));
        own(fd);
        return this;
    }

    /**
     * Writes what {@code queue} holds to {@code fd}; once the client finished the queue and all
     * was written, {@code onEnd} runs with the descriptor (shut a socket down, send a terminal's
     * end-of-file character); null closes the descriptor (a pipe: the process reads EOF).
     */
    public FdRelay input(int fd, ByteQueue queue, IntConsumer onEnd) {
        input = new Input(fd, queue, onEnd);
        own(fd);
        return this;
    }

    /** Hands what {@code fd} carries to {@code onData}; {@code onEnd} runs at its end of file. */
    public FdRelay control(int fd, Consumer<byte[]> onData, Runnable onEnd) {
        controls.add(new Control(fd, onData, onEnd));
        own(fd);
        return this;
    }

    /** The process is gone: deliver what its outputs hold, then end. */
    public void drainOutputs() {
        draining = true;
        wake();
    }

    /** Ends the relay as soon as possible; queues see end of file. */
    public void stop() {
        stopped = true;
        wake();
    }

    private void own(int fd) {
        Fds.setNonBlocking(fd);
        owned.add(fd);
    }

    private void wake() {
        if (wakePending.compareAndSet(false, true)) {
            byte[] one = {1};
            try {
                Fds.write(wakeWrite, one, 0, 1);
            } catch (BerthException e) {
                // closed: the relay has ended already
            }
        }
    }

    /** Relays until every output and control has ended, or {@link #stop}. Closes every descriptor. */
    public void run() {
        try {
            loop();
        } finally {
            for (Output o : outputs) {
                o.end();
            }
            if (input != null) {
                input.queue.abort();
            }
            owned.forEach(Processes::close);
            Processes.close(wakeRead);
            Processes.close(wakeWrite);
        }
    }

    private void loop() {
        byte[] buf = new byte[CHUNK + 1];
        while (!stopped) {
            if (draining && input != null && !input.done) {
                input.finish(false);
            }
            List<Object> polled = new ArrayList<>();
            List<Integer> fds = new ArrayList<>();
            List<Short> events = new ArrayList<>();
            fds.add(wakeRead);
            events.add(Fds.POLLIN);
            polled.add(null);
            for (Control c : controls) {
                if (!c.done) {
                    fds.add(c.fd);
                    events.add(Fds.POLLIN);
                    polled.add(c);
                }
            }
            if (draining) {
                long now = System.nanoTime();
                for (Output o : outputs) {
                    if (o.done) {
                        continue;
                    }
                    if (o.drainUntil == 0) {
                        o.drainUntil = now + DRAIN_GRACE_MS * 1_000_000L;
                    }
                    if (!o.pending() && (o.drainBytes >= DRAIN_MAX_BYTES || now - o.drainUntil > 0)) {
                        o.done = true; // what still comes is a surviving child's, not the process's
                        o.end();
                    }
                }
            }
            boolean readable = false;
            for (Output o : outputs) {
                if (!o.done && !o.pending()) {
                    fds.add(o.fd);
                    events.add(Fds.POLLIN);
                    polled.add(o);
                    readable = true;
                }
            }
            if (input != null && !input.done) {
                if (input.hasData()) {
                    fds.add(input.fd);
                    events.add(Fds.POLLOUT);
                    polled.add(input);
                } else if (input.queue.drained()) {
                    input.finish(true);
                }
            }
            if (outputs.stream().allMatch(o -> o.done) && controls.stream().allMatch(c -> c.done)) {
                return;
            }
            int n = fds.size();
            int[] fdArr = new int[n];
            short[] evArr = new short[n];
            short[] rev = new short[n];
            for (int i = 0; i < n; i++) {
                fdArr[i] = fds.get(i);
                evArr[i] = events.get(i);
            }
            // Draining, an output with nothing to read for a moment is done (a terminal's output
            // may still be on its way from the slave side when the process has ended).
            boolean drainPass = draining && readable;
            boolean quiet = Fds.poll(fdArr, evArr, rev, drainPass ? DRAIN_POLL_MS : -1) == 0;
            if (stopped) {
                return;
            }
            if (rev[0] != 0) {
                while (Fds.read(wakeRead, buf, 0, buf.length) > 0) {
                    // drop the wake-up bytes
                }
                // Only now may a waker write again: cleared before the read, a wake-up written in
                // between was read with the others while the flag stayed set, so no later wake-up
                // wrote a byte and the relay slept forever (an ExecSync whose output queue was full
                // hung). A wake-up that finds the flag still set here is seen by this pass: the
                // queues are looked at after this.
                wakePending.set(false);
            }
            for (int i = 1; i < n; i++) {
                Object p = polled.get(i);
                short r = rev[i];
                if (p instanceof Control c) {
                    if (r != 0) {
                        c.read(buf);
                    }
                } else if (p instanceof Output o) {
                    if (r != 0) {
                        int read = o.read(buf);
                        if (draining) {
                            o.drainBytes += read;
                        }
                    } else if (drainPass && quiet) {
                        o.done = true; // nothing more was buffered when the process ended
                        o.end();
                    }
                } else if (p instanceof Input in) {
                    if (r != 0) {
                        in.write();
                    }
                }
            }
            for (Output o : outputs) {
                if (o.pending()) {
                    o.deliver();
                    if (draining && !o.pending() && o.drainUntil != 0) {
                        // the client took it: the grace counts from now, not from while it was slow
                        o.drainUntil = System.nanoTime() + DRAIN_GRACE_MS * 1_000_000L;
                    }
                }
            }
        }
    }

    private static final class Output {
        final int fd;
        final ByteQueue plain;
        final ByteQueue stdout;
        final ByteQueue stderr;
        boolean done;
        boolean ended;
        byte[] pending;
        int pendingOff;
        int pendingLen;
        ByteQueue pendingTarget;
        /** Draining: bytes read since the process ended, and until when reading may go on (0: not yet). */
        long drainBytes;
        long drainUntil;

        Output(int fd, ByteQueue plain, ByteQueue stdout, ByteQueue stderr) {
            this.fd = fd;
            this.plain = plain;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        boolean pending() {
            return pending != null;
        }

        /** Reads once; returns the bytes read (0 at end of file or when nothing was there). */
        int read(byte[] buf) {
            int n;
            try {
                n = Fds.read(fd, buf, 0, buf.length);
            } catch (BerthException e) {
                n = 0; // a broken descriptor ends this output
            }
            if (n == Fds.AGAIN) {
                return 0;
            }
            if (n == 0) {
                done = true;
                end();
                return 0;
            }
            if (plain != null) {
                offer(plain, buf, 0, n);
            } else if (n > 1) {
                ByteQueue target = switch (buf[0]) {
                    case STDOUT_PACKET -> stdout;
                    case STDERR_PACKET -> stderr;
                    default -> null;
                };
                if (target != null) {
                    offer(target, buf, 1, n - 1);
                }
            }
            return n;
        }

        void offer(ByteQueue q, byte[] buf, int off, int len) {
            int taken = q.offer(buf, off, len);
            if (taken < len) {
                pending = java.util.Arrays.copyOfRange(buf, off + taken, off + len);
                pendingOff = 0;
                pendingLen = pending.length;
                pendingTarget = q;
            }
        }

        void deliver() {
            int taken = pendingTarget.offer(pending, pendingOff, pendingLen);
            pendingOff += taken;
            pendingLen -= taken;
            if (pendingLen == 0) {
                pending = null;
                pendingTarget = null;
            }
        }

        void end() {
            if (ended) {
                return;
            }
            ended = true;
            for (ByteQueue q : new ByteQueue[] {plain, stdout, stderr}) {
                if (q != null) {
                    q.finish();
                }
            }
        }
    }

    private final class Input {
        final int fd;
        final ByteQueue queue;
        final IntConsumer onEnd;
        final byte[] buf = new byte[CHUNK];
        int off;
        int len;
        boolean done;

        Input(int fd, ByteQueue queue, IntConsumer onEnd) {
            this.fd = fd;
            this.queue = queue;
            this.onEnd = onEnd;
        }

        boolean hasData() {
            return len > 0 || !queue.isEmpty();
        }

        void write() {
            if (len == 0) {
                off = 0;
                len = queue.take(buf, 0, buf.length);
            }
            try {
                int n = Fds.write(fd, buf, off, len);
                if (n > 0) {
                    off += n;
                    len -= n;
                }
            } catch (BerthException e) {
                finish(false); // the reader is gone (EPIPE): drop further input
            }
        }

        /** Ends input: {@code clean} when the client closed it, else the process went away. */
        void finish(boolean clean) {
            done = true;
            queue.abort();
            if (onEnd == null) {
                owned.remove(fd);
                Processes.close(fd);
            } else if (clean) {
                try {
                    onEnd.accept(fd);
                } catch (BerthException e) {
                    // the process is gone already
                }
            }
        }
    }

    private static final class Control {
        final int fd;
        final Consumer<byte[]> onData;
        final Runnable onEnd;
        boolean done;

        Control(int fd, Consumer<byte[]> onData, Runnable onEnd) {
            this.fd = fd;
            this.onData = onData;
            this.onEnd = onEnd;
        }

        void read(byte[] buf) {
            int n;
            try {
                n = Fds.read(fd, buf, 0, buf.length);
            } catch (BerthException e) {
                n = 0;
            }
            if (n == Fds.AGAIN) {
                return;
            }
            if (n == 0) {
                done = true;
                onEnd.run();
                return;
            }
            onData.accept(java.util.Arrays.copyOf(buf, n));
        }
    }
}
