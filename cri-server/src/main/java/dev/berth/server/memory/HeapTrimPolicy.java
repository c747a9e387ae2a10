package dev.berth.server.memory;

/**
 * When to give heap back: once the daemon has gone quiet after its heap grew. A burst (pulls, pod
 * churn) makes the collector commit more heap, and a stop-the-world collector only returns it at a
 * full collection, which nothing triggers while the daemon is idle. One full collection after the
 * burst lets the heap shrink to its live size plus MaxHeapFreeRatio.
 *
 * <p>Quiet means at most one young collection since the previous check (an idle daemon polled by
 * kubelet still allocates a little; a burst collects many times per period);
 * grown means more committed than right after the last trim (or than at start) by at least
 * {@code slackBytes}. So a busy daemon is never interrupted, and an idle one is trimmed once per
 * burst, not again and again.
 *
 * <p>The pages of mapped files (class archives, modules image, libraries) that start-up or a burst
 * touched are given back once per quiet spell too ({@link #pageOutDue()}): after start-up, and
 * after each busy period.
 */
final class HeapTrimPolicy {
    private final long slackBytes;
    private long lastYoungCollections = -1;
    private long baselineCommitted;
    private boolean quiet;
    /** Start-up touched most mapped pages: the first quiet check gives them back. */
    private boolean busySincePageOut = true;

    HeapTrimPolicy(long initialCommitted, long slackBytes) {
        this.baselineCommitted = initialCommitted;
        this.slackBytes = slackBytes;
    }

    /** One periodic check: true when a full collection should run now. */
    boolean check(long youngCollections, long committed) {
        boolean known = lastYoungCollections >= 0;
        quiet = known && youngCollections - lastYoungCollections <= 1;
        busySincePageOut |= known && !quiet;
        lastYoungCollections = youngCollections;
        return quiet && committed >= baselineCommitted + slackBytes;
    }

    /**
     * After {@link #check}: true when the mapped pages should be paged out now (the daemon is quiet
     * and was busy, or starting, since they last were); then false until the next busy period.
     */
    boolean pageOutDue() {
        if (!quiet || !busySincePageOut) {
            return false;
        }
        busySincePageOut = false;
        return true;
    }

    /** Records the heap after a trim, and the collection count it left (it may count as young too). */
    void trimmed(long youngCollections, long committed) {
        lastYoungCollections = youngCollections;
        baselineCommitted = committed;
    }
}
