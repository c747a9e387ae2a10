package dev.berth.server.memory;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Gives the heap back after a burst (see {@link HeapTrimPolicy}): checks every 15 s on a virtual
 * thread and runs one full collection when the daemon went quiet with a grown heap. With the Serial
 * collector of the launcher flags and {@code -XX:MaxHeapFreeRatio=30} the heap then shrinks to about
 * its live size. Native memory freed by glibc is returned by {@code -XX:TrimNativeHeapInterval}.
 */
@ApplicationScoped
public class IdleHeapTrim {
    private static final Logger LOG = Logger.getLogger(IdleHeapTrim.class);
    private static final Duration PERIOD = Duration.ofSeconds(15);
    private static final long SLACK_BYTES = 4L << 20;

    private volatile Thread worker;

    void start(@Observes StartupEvent event) {
        worker = Thread.ofVirtual().name("berth-heap-trim").start(this::loop);
    }

    void stop(@Observes ShutdownEvent event) {
        Thread w = worker;
        if (w != null) {
            w.interrupt();
        }
    }

    private void loop() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        List<GarbageCollectorMXBean> young = youngCollectors();
        HeapTrimPolicy policy = new HeapTrimPolicy(memory.getHeapMemoryUsage().getCommitted(), SLACK_BYTES);
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(PERIOD);
                long committed = memory.getHeapMemoryUsage().getCommitted();
                if (policy.check(count(young), committed)) {
                    long t0 = System.nanoTime();
                    System.gc();
                    long after = memory.getHeapMemoryUsage().getCommitted();
                    policy.trimmed(count(young), after);
                    LOG.debugf("idle: heap %d -> %d MiB committed (full collection %d ms)", committed >> 20,
                            after >> 20, (System.nanoTime() - t0) / 1_000_000);
                }
            }
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt();
        }
    }

    /** The young-generation collectors ("Copy" for Serial, "G1 Young Generation" for G1). */
    private static List<GarbageCollectorMXBean> youngCollectors() {
        List<GarbageCollectorMXBean> all = ManagementFactory.getGarbageCollectorMXBeans();
        List<GarbageCollectorMXBean> young = all.stream()
                .filter(b -> b.getName().equals("Copy") || b.getName().contains("Young")).toList();
        return young.isEmpty() ? all : young;
    }

    private static long count(List<GarbageCollectorMXBean> collectors) {
        return collectors.stream().mapToLong(GarbageCollectorMXBean::getCollectionCount).sum();
    }
}
