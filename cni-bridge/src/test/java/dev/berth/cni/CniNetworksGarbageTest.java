package dev.berth.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The start's collection of what crashes left in the result cache (no attachment, so no root needed). */
class CniNetworksGarbageTest {
    @TempDir
    Path dir;

    @Test
    void aCacheWriteAKillCutShortIsDeletedAndOtherFilesStay() throws Exception {
        CniNetworks n = new CniNetworks(new CniSettings(dir.resolve("net.d"), List.of(dir.resolve("bin")),
                dir.resolve("state"), "10.66.0.0/16", "berth0"), dev.berth.linux.host.LinuxHost.system());
        Path results = Files.createDirectories(dir.resolve("state").resolve("results"));
        Path torn = Files.writeString(results.resolve(".c1-eth0.json.tmp"), "{\"kind\":");
        Path other = Files.writeString(results.resolve("notes.txt"), "an operator's");
        assertEquals(List.of(), n.collectGarbage(Set.of()));
        assertFalse(Files.exists(torn));
        assertTrue(Files.exists(other));
    }
}
