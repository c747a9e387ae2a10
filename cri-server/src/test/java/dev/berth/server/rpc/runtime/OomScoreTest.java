package dev.berth.server.rpc.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OomScoreTest {
    /** CAP_SYS_RESOURCE is bit 24 of CapEff; read here without the shared parser, as an independent check. */
    @Test
    void sysResourceFollowsTheEffectiveSet() throws Exception {
        String capEff = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("CapEff:"))
                .findFirst().orElseThrow().substring("CapEff:".length()).strip();
        boolean held = (Long.parseUnsignedLong(capEff, 16) & (1L << 24)) != 0;
        assertEquals(held, OomScore.hasSysResource());
        assertEquals(!held, OomScore.describe().endsWith("because the daemon lacks CAP_SYS_RESOURCE"), OomScore.describe());
    }
}
