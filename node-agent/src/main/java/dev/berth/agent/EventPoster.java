package dev.berth.agent;

import io.fabric8.kubernetes.api.model.ObjectReference;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Posts Kubernetes Events from one thread, rate-limited; {@link #post} never blocks (the CRI event
 * stream calls it): when the queue is full or the rate is spent the event is dropped and counted.
 */
final class EventPoster implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EventPoster.class.getName());

    record Pending(ObjectReference about, String type, String reason, String message) {}

    private final KubeNode kube;
    private final RateLimiter limiter;
    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(256);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong posted = new AtomicLong();
    private final Thread thread;

    EventPoster(KubeNode kube, int perMinute) {
        this.kube = kube;
        this.limiter = new RateLimiter(perMinute);
        this.thread = Thread.ofPlatform().daemon(true).name("berth-agent-events-out").start(this::run);
    }

    void post(ObjectReference about, String type, String reason, String message) {
        if (!limiter.tryAcquire() || !queue.offer(new Pending(about, type, reason, message))) {
            long n = dropped.incrementAndGet();
            if (Long.bitCount(n) == 1) { // 1, 2, 4, 8, ...: a log line that does not flood
                LOG.warning("Kubernetes Events dropped (rate limit or queue full): " + n + " so far");
            }
        }
    }

    long posted() {
        return posted.get();
    }

    long dropped() {
        return dropped.get();
    }

    private void run() {
        while (!Thread.currentThread().isInterrupted()) {
            Pending p;
            try {
                p = queue.take();
            } catch (InterruptedException stop) {
                return;
            }
            try {
                kube.postEvent(p.about(), p.type(), p.reason(), p.message());
                posted.incrementAndGet();
            } catch (RuntimeException e) {
                dropped.incrementAndGet();
                LOG.log(Level.WARNING, "cannot post Event " + p.reason() + ": " + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        thread.interrupt();
    }
}
