package dev.berth.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CapabilitiesTest {
    /** /proc/self/status of a root whose bounding set lacks CAP_SYS_RESOURCE (bit 24), as on the build hosts. */
    private static final String STATUS = """
            Name:\tjava
            Uid:\t0\t0\t0\t0
            CapInh:\t0000000000000000
            CapPrm:\t000001fffeffffff
            CapEff:\t000001fffeffffff
            CapBnd:\t000001fffeffffff
            CapAmb:\t0000000000000000
            NoNewPrivs:\t0
            """;

    @Test
    void namesFollowTheKernelNumbering() {
        assertEquals("CAP_CHOWN", Capabilities.KNOWN.get(0));
        assertEquals("CAP_SYS_ADMIN", Capabilities.KNOWN.get(21));
        assertEquals("CAP_SYS_RESOURCE", Capabilities.KNOWN.get(24));
        assertEquals("CAP_CHECKPOINT_RESTORE", Capabilities.KNOWN.get(40));
        assertEquals(List.of("CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"),
                List.copyOf(Capabilities.names((1L << 0) | (1L << 5) | (1L << 21))));
        assertEquals(Set.of(), Capabilities.names(0));
        // bits the table does not know (a newer kernel) are left out: they cannot be named in a spec
        assertEquals(Set.of("CAP_CHOWN"), Capabilities.names(1L | (1L << 60)));
    }

    @Test
    void heldSetIsEffectiveWithinBounding() {
        Set<String> held = Capabilities.held(STATUS);
        assertEquals(Capabilities.KNOWN.size() - 1, held.size());
        assertFalse(held.contains("CAP_SYS_RESOURCE"));
        assertTrue(held.contains("CAP_SYS_ADMIN") && held.contains("CAP_CHECKPOINT_RESTORE"));
        // effective wider than bounding: only what can still be passed on across exec counts
        String narrowBounding = STATUS.replace("CapBnd:\t000001fffeffffff", "CapBnd:\t0000000000000021");
        assertEquals(Set.of("CAP_CHOWN", "CAP_KILL"), Capabilities.held(narrowBounding));
        assertThrows(dev.berth.core.error.BerthException.class, () -> Capabilities.held("Name:\tjava\n"));
    }

    @Test
    void ownSetMatchesProcSelfStatus() throws Exception {
        String status = Files.readString(Path.of("/proc/self/status"));
        assertEquals(Capabilities.held(status), Capabilities.ofSelf());
    }
}
