package dev.berth.image.registry.body;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Closes a response body when no byte arrived for {@code limit}: a registry that sends headers and
 * then stops would otherwise block the pull (and every pull joined to it) forever, since the JDK's
 * request timeout ends at the response headers. Runs on a virtual thread per body.
 */
final class StallWatch implements AutoCloseable {
    private final Thread thread;
    private volatile boolean fired;
    private volatile boolean stopped;

    private StallWatch(Closeable stream, LongSupplier lastProgressNanos, Duration limit) {
        long limitNanos = limit.toNanos();
        long tick = Math.max(10, Math.min(1000, limit.toMillis() / 4));
        this.thread = Thread.ofVirtual().name("registry-stall-watch").start(() -> {
            while (!stopped) {
                try {
                    Thread.sleep(tick);
                } catch (InterruptedException e) {
                    return;
                }
                if (!stopped && System.nanoTime() - lastProgressNanos.getAsLong() > limitNanos) {
                    fired = true;
                    try {
                        stream.close();
                    } catch (IOException e) {
                        // closing is all we can do
                    }
                    return;
                }
            }
        });
    }

    static StallWatch watch(Closeable stream, LongSupplier lastProgressNanos, Duration limit) {
        return new StallWatch(stream, lastProgressNanos, limit);
    }

    /** Whether the stream was closed for lack of progress. */
    boolean fired() {
        return fired;
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }
}
