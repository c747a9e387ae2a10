package dev.berth.server.streaming.transport;

import io.netty.channel.Channel;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One client connection of the streaming server, as the sessions on it see it: whether it can take
 * more output (so producers wait instead of buffering), pausing input when a consumer falls behind,
 * and closing. Producers run on virtual threads; Netty calls {@link #writabilityChanged()}.
 */
public final class StreamConnection {
    private final Channel channel;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition writable = lock.newCondition();
    /** Inbound pipes over their limit; reading resumes when none is. Event loop only. */
    private int pausedBy;
    private Runnable closer;

    public StreamConnection(Channel channel) {
        this.channel = channel;
        this.closer = () -> channel.close();
        channel.closeFuture().addListener(f -> writabilityChanged());
    }

    public Channel channel() {
        return channel;
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    /**
     * Blocks while the connection's outbound buffer is over its high-water mark. False once the
     * connection is closed: the caller stops producing.
     */
    public boolean awaitWritable() throws InterruptedException {
        lock.lock();
        try {
            while (channel.isActive() && !channel.isWritable()) {
                // Timed: a missed signal costs at most this long, never a hang.
                writable.await(200, TimeUnit.MILLISECONDS);
            }
            return channel.isActive();
        } finally {
            lock.unlock();
        }
    }

    /** Netty: the outbound buffer crossed a water mark, or the channel closed. */
    public void writabilityChanged() {
        lock.lock();
        try {
            writable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A consumer cannot keep up: stop reading from the client (TCP pushes back). */
    public void pauseReading() {
        onLoop(() -> {
            if (pausedBy++ == 0) {
                channel.config().setAutoRead(false);
            }
        });
    }

    public void resumeReading() {
        onLoop(() -> {
            if (--pausedBy == 0) {
                channel.config().setAutoRead(true);
                channel.read();
            }
        });
    }

    /** Runs {@code action} once the connection is closed (at once if it already is). */
    public void onClose(Runnable action) {
        channel.closeFuture().addListener(f -> action.run());
    }

    /** How the protocol ends a connection politely (GOAWAY, WebSocket close), set by its handler. */
    public void setCloser(Runnable closer) {
        this.closer = closer;
    }

    /** Ends the connection after what is already written has been sent. */
    public void close() {
        if (channel.eventLoop().inEventLoop()) {
            closer.run();
        } else {
            onLoop(closer);
        }
    }

    /** Runs on the connection's event loop; nothing to do once the server has shut that down. */
    private void onLoop(Runnable action) {
        try {
            channel.eventLoop().execute(action);
        } catch (RejectedExecutionException stopped) {
            channel.close();
        }
    }

    /** Closes at once, dropping what is not sent. */
    public void abort() {
        channel.close();
    }
}
