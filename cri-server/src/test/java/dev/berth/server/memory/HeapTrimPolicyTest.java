package dev.berth.server.memory;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HeapTrimPolicyTest {
    private static final long MIB = 1L << 20;

    @Test
    void trimsOnceWhenQuietAfterGrowth() {
        HeapTrimPolicy p = new HeapTrimPolicy(16 * MIB, 4 * MIB);
        assertFalse(p.check(10, 16 * MIB), "first check has no earlier count: not known to be quiet");
        assertFalse(p.check(10, 16 * MIB), "quiet but not grown");
        assertFalse(p.check(40, 30 * MIB), "grown but still collecting: busy");
        assertTrue(p.check(40, 30 * MIB), "grown and quiet");
        p.trimmed(41, 18 * MIB);
        assertFalse(p.check(41, 18 * MIB), "trimmed: heap is at its new baseline");
        assertFalse(p.check(42, 21 * MIB), "less than the slack above the baseline");
        assertTrue(p.check(43, 23 * MIB), "one young collection per period is still quiet");
    }

    @Test
    void trimsAgainAfterTheNextBurst() {
        HeapTrimPolicy p = new HeapTrimPolicy(16 * MIB, 4 * MIB);
        p.check(5, 16 * MIB);
        p.trimmed(6, 14 * MIB);
        assertFalse(p.check(90, 40 * MIB), "busy");
        assertTrue(p.check(90, 40 * MIB), "quiet after the burst");
    }

    @Test
    void pagesOutOnceAfterStartAndOnceAfterEachBurst() {
        HeapTrimPolicy p = new HeapTrimPolicy(16 * MIB, 4 * MIB);
        p.check(5, 16 * MIB);
        assertFalse(p.pageOutDue(), "first check: not known to be quiet yet");
        p.check(5, 16 * MIB);
        assertTrue(p.pageOutDue(), "quiet after start-up");
        p.check(6, 16 * MIB);
        assertFalse(p.pageOutDue(), "still quiet: nothing touched since");
        p.check(60, 16 * MIB);
        assertFalse(p.pageOutDue(), "busy: never interrupted");
        p.check(61, 16 * MIB);
        assertTrue(p.pageOutDue(), "quiet after the burst, though the heap did not grow");
        p.check(61, 16 * MIB);
        assertFalse(p.pageOutDue(), "once per burst");
    }
}
