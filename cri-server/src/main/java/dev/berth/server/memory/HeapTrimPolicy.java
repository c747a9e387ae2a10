package dev.berth.server.memory;

/**
 * When to give memory back: once the daemon has gone quiet after a burst. A burst (pulls, pod
 * churn) makes the collector commit more heap, and a stop-the-world collector only returns it at a
 * full collection, which nothing triggers while the daemon is idle. One full collection after the
 * burst lets the heap shrink until at most MaxHeapFreeRatio of it is free.
 *
 * <p>Quiet means no state-changing call started or ended since the previous check ({@link Bursts}:
 * kubelet's lists, statuses, stats and probes go on all the time on a node and do not count). The
 * collection runs at the first quiet check after start-up and after each burst, and again only
 * when the heap grew while quiet: more committed than right after the last trim by at least
 * {@code slackBytes} (kubelet's polls allocate too). So a busy daemon is never interrupted, and an
 * idle one is trimmed once per burst, not again and again.
 *
 * <p>The pages of mapped files (class archives, modules image, libraries) that start-up or a burst
 * touched are given back in a quiet spell too ({@link #pageOutDue()}): after start-up, and after
 * each burst, at its first two quiet checks (pages of a file written moments before, as the class
 * archive is at the exit before a restart, may still be on their way to disk at the first, and
 * the kernel does not page those out).
 */
final class HeapTrimPolicy {
    private static final int PAGE_OUTS_PER_SPELL = 2;

    private final long slackBytes;
    private long lastEvents = -1;
    private long baselineCommitted;
    private boolean quiet;
    /** Page-outs still due in this quiet spell; start-up touched most mapped pages. */
    private int pageOutsDue = PAGE_OUTS_PER_SPELL;
    /** Whether this quiet spell's (or start-up's) one unconditional collection is still to run. */
    private boolean collectionDue = true;

    HeapTrimPolicy(long initialCommitted, long slackBytes) {
        this.baselineCommitted = initialCommitted;
        this.slackBytes = slackBytes;
    }

    /**
     * One periodic check, with the burst events counted so far ({@link Bursts#events()}): true when
     * a full collection should run now.
     */
    boolean check(long burstEvents, long committed) {
        boolean known = lastEvents >= 0;
        quiet = known && burstEvents == lastEvents;
        if (known && !quiet) {
            pageOutsDue = PAGE_OUTS_PER_SPELL;
            collectionDue = true;
        }
        lastEvents = burstEvents;
        // the first quiet check of a spell always collects: a burst of a few containers grows the
        // heap by less than the slack, yet leaves it holding the burst's garbage until a full
        // collection, which an idle daemon never runs by itself
        if (quiet && collectionDue) {
            collectionDue = false;
            return true;
        }
        return quiet && committed >= baselineCommitted + slackBytes;
    }

    /**
     * After {@link #check}: true when the mapped pages should be paged out now (the daemon is quiet
     * after start-up or a burst, at its first two quiet checks); then false until the next burst.
     */
    boolean pageOutDue() {
        if (!quiet || pageOutsDue == 0) {
            return false;
        }
        pageOutsDue--;
        return true;
    }

    /** Records the heap after a trim: the baseline the next growth is measured from. */
    void trimmed(long committed) {
        baselineCommitted = committed;
    }
}
