package dev.berth.server.memory;

import dev.berth.linux.ResidentPages;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Gives the heap back after a burst (see {@link HeapTrimPolicy}): checks every 15 s on a virtual
 * thread and runs one full collection when the daemon went quiet ({@link Bursts}) after start-up or
 * a burst, or with a grown heap. With the Serial collector of the launcher flags,
 * {@code -XX:MaxHeapFreeRatio=30} and {@code -XX:-ShrinkHeapInSteps} the heap then shrinks at
 * once until at most 30 % of it is free (by default Serial shrinks nothing at the first such
 * collection, 10 % of the excess at the second, 40 % at the third). Native memory freed by glibc is
 * returned by {@code -XX:TrimNativeHeapInterval}.
 *
 * <p>In the same quiet spell it pages out the private file mappings ({@link ResidentPages}): the
 * class archives, modules image and libraries whose pages start-up or the burst touched once. With
 * {@code -XX:ArchiveRelocationMode=0} (the launchers' flags) the archives stay clean file pages, so
 * most of them can go; what the daemon still uses comes back at its next touch.
 */
@ApplicationScoped
public class IdleHeapTrim {
    private static final Logger LOG = Logger.getLogger(IdleHeapTrim.class);
    private static final Duration PERIOD = Duration.ofSeconds(15);
    private static final long SLACK_BYTES = 4L << 20;

    @Inject
    Bursts bursts;

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
        HeapTrimPolicy policy = new HeapTrimPolicy(memory.getHeapMemoryUsage().getCommitted(), SLACK_BYTES);
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(PERIOD);
                long committed = memory.getHeapMemoryUsage().getCommitted();
                if (policy.check(bursts.events(), committed)) {
                    long t0 = System.nanoTime();
                    System.gc();
                    long after = memory.getHeapMemoryUsage().getCommitted();
                    policy.trimmed(after);
                    LOG.debugf("idle: heap %d -> %d MiB committed (full collection %d ms)", committed >> 20,
                            after >> 20, (System.nanoTime() - t0) / 1_000_000);
                }
                if (policy.pageOutDue()) {
                    pageOut();
                }
            }
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt();
        }
    }

    private static void pageOut() {
        long t0 = System.nanoTime();
        long before = ResidentPages.residentBytes();
        try {
            // Private mappings only: a shared one (the JVM's perf data file) is written, not read.
            ResidentPages.pageOut(m -> m.permissions().endsWith("p"));
        } catch (RuntimeException e) {
            // never worth stopping for: the daemon only keeps more memory resident
            LOG.warnf("idle: paging out mapped files failed: %s", e.getMessage());
            return;
        }
        LOG.debugf("idle: resident %d -> %d MiB (mapped files paged out in %d ms)", before >> 20,
                ResidentPages.residentBytes() >> 20, (System.nanoTime() - t0) / 1_000_000);
    }
}
