package dev.berth.server.streaming.transport;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Client data bound for a blocking sink (a process's stdin, a forwarded TCP connection): queued on
 * the event loop, written by a virtual thread. At most {@link #HIGH_WATER} bytes wait; above that
 * the connection stops reading from the client until the sink catches up. Data that arrives before
 * {@link #start} (the process is not started yet) waits in the same bounded queue.
 */
public final class InboundPipe implements InSink {
    public static final int HIGH_WATER = 256 * 1024;
    public static final int LOW_WATER = 64 * 1024;

    private final StreamConnection connection;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private int queuedBytes;
    private boolean ended;
    private boolean paused;
    private boolean stopped;

    public InboundPipe(StreamConnection connection) {
        this.connection = connection;
    }

    @Override
    public void data(ByteBuf data) {
        try {
            if (data.readableBytes() == 0) {
                return;
            }
            byte[] bytes = new byte[data.readableBytes()];
            data.readBytes(bytes);
            lock.lock();
            try {
                if (ended || stopped) {
                    return;
                }
                queue.add(bytes);
                queuedBytes += bytes.length;
                if (!paused && queuedBytes > HIGH_WATER) {
                    paused = true;
                    connection.pauseReading();
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        } finally {
            data.release();
        }
    }

    @Override
    public void end() {
        lock.lock();
        try {
            ended = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Starts writing to {@code sink} on a virtual thread; at the client's end of stream the sink is
     * closed ({@code onEnd} runs instead when given, e.g. a socket's shutdownOutput).
     */
    public Thread start(String name, OutputStream sink, Runnable onEnd) {
        return Thread.ofVirtual().name(name).start(() -> drain(sink, onEnd));
    }

    /** Stops taking data (the sink is gone); what is queued is dropped and reading resumes. */
    public void stop() {
        lock.lock();
        try {
            stopped = true;
            queue.clear();
            queuedBytes = 0;
            if (paused) {
                paused = false;
                connection.resumeReading();
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void drain(OutputStream sink, Runnable onEnd) {
        try {
            while (true) {
                byte[] next;
                lock.lock();
                try {
                    while (queue.isEmpty() && !ended && !stopped) {
                        changed.await();
                    }
                    if (stopped || queue.isEmpty()) {
                        break;
                    }
                    next = queue.poll();
                    queuedBytes -= next.length;
                    if (paused && queuedBytes < LOW_WATER) {
                        paused = false;
                        connection.resumeReading();
                    }
                } finally {
                    lock.unlock();
                }
                sink.write(next);
                sink.flush();
            }
            if (!stopped) {
                if (onEnd != null) {
                    onEnd.run();
                } else {
                    sink.close();
                }
            }
        } catch (IOException | InterruptedException e) {
            // The process or connection is gone; the session's end cleans up.
        } finally {
            stop();
        }
    }
}
