package dev.berth.server.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HeapTrimPolicyTest {
    private static final long MIB = 1L << 20;

    @Test
    void trimsOnceWhenQuietAfterGrowth() {
        HeapTrimPolicy p = new HeapTrimPolicy(16 * MIB, 4 * MIB);
        assertFalse(p.check(0, 16 * MIB), "first check has no earlier count: not known to be quiet");
        assertTrue(p.check(0, 16 * MIB), "the first quiet check after start-up collects once");
        p.trimmed(16 * MIB);
        assertFalse(p.check(0, 16 * MIB), "quiet but not grown");
        assertFalse(p.check(40, 30 * MIB), "grown but still changing pods: busy");
        assertTrue(p.check(40, 30 * MIB), "grown and quiet");
        p.trimmed(18 * MIB);
        assertFalse(p.check(40, 18 * MIB), "trimmed: heap is at its new baseline");
        assertFalse(p.check(40, 21 * MIB), "less than the slack above the baseline");
        assertTrue(p.check(40, 23 * MIB), "grown by the slack while quiet (kubelet's polls allocate)");
    }

    @Test
    void trimsAgainAfterTheNextBurst() {
        HeapTrimPolicy p = new HeapTrimPolicy(16 * MIB, 4 * MIB);
        p.check(5, 16 * MIB);
        p.trimmed(14 * MIB);
        assertFalse(p.check(90, 40 * MIB), "busy");
        assertTrue(p.check(90, 40 * MIB), "quiet after the burst");
    }

    @Test
    void collectsAfterABurstThatGrewTheHeapLessThanTheSlack() {
        HeapTrimPolicy p = new HeapTrimPolicy(16 * MIB, 4 * MIB);
        p.check(0, 16 * MIB);
        p.check(0, 16 * MIB);
        p.trimmed(14 * MIB);
        assertFalse(p.check(0, 15 * MIB), "quiet since the last trim, grown by less than the slack");
        assertFalse(p.check(6, 16 * MIB), "busy: a few containers started");
        assertTrue(p.check(6, 16 * MIB), "the first quiet check after the burst collects");
        p.trimmed(14 * MIB);
        assertFalse(p.check(6, 15 * MIB), "once per burst");
    }

    @Test
    void pagesOutTwiceAfterStartAndAfterEachBurst() {
        HeapTrimPolicy p = new HeapTrimPolicy(16 * MIB, 4 * MIB);
        p.check(0, 16 * MIB);
        assertFalse(p.pageOutDue(), "first check: not known to be quiet yet");
        p.check(0, 16 * MIB);
        assertTrue(p.pageOutDue(), "quiet after start-up");
        p.check(0, 16 * MIB);
        assertTrue(p.pageOutDue(), "the second quiet check: what was still being written is clean now");
        p.check(0, 16 * MIB);
        assertFalse(p.pageOutDue(), "still quiet: nothing touched since");
        p.check(2, 16 * MIB);
        assertFalse(p.pageOutDue(), "busy: never interrupted");
        p.check(3, 16 * MIB);
        assertFalse(p.pageOutDue(), "still busy");
        p.check(3, 16 * MIB);
        assertTrue(p.pageOutDue(), "quiet after the burst, though the heap did not grow");
        p.check(3, 16 * MIB);
        assertTrue(p.pageOutDue());
        p.check(3, 16 * MIB);
        assertFalse(p.pageOutDue(), "twice per burst");
    }

    @Test
    void burstsCountOnlyCallsThatChangeState() {
        Bursts b = new Bursts();
        for (String poll : new String[] {"ListPodSandbox", "ListContainers", "ContainerStatus", "PodSandboxStatus",
                "ListContainerStats", "ImageFsInfo", "ExecSync", "Version", "Status"}) {
            b.record(poll);
        }
        assertEquals(0, b.events(), "kubelet's polls and probes are no burst");
        b.record("RunPodSandbox");
        b.record("RunPodSandbox");
        b.record("PullImage");
        assertEquals(3, b.events(), "each start and end of a state change counts");
    }
}
