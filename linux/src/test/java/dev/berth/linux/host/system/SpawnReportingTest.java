package dev.berth.linux.host.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.ProcessTable;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The sync-pipe read in half-second slices: a late line still arrives whole; giving up ends the wait at once. */
class SpawnReportingTest {
    private final ProcessTable processes = LinuxHost.system().processes();

    @Test
    void aLineWrittenInPartsAcrossSlicesArrivesWhole() {
        // half the line, a pause longer than two slices, the rest
        ProcessTable.Report r = processes.spawnReporting(List.of("/bin/sh", "-c",
                "printf '{\"data\": ' >&3; sleep 1.3; printf '42}\\n' >&3"), Map.of(), 1024, 20_000, () -> false);
        assertFalse(r.timedOut());
        assertEquals("{\"data\": 42}\n", r.line());
    }

    @Test
    void givingUpEndsTheWaitWithinASlice() {
        long start = System.nanoTime();
        ProcessTable.Report r = processes.spawnReporting(List.of("/bin/sh", "-c", "sleep 3 3>&-"), Map.of(), 1024,
                60_000, () -> true);
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(r.timedOut());
        // the slice (0.5 s), then the reap of the spawned sh, which ends after its 3 s
        assertTrue(ms < 5_000, "gave up after " + ms + " ms");
    }
}
