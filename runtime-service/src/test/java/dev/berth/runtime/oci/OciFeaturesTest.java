package dev.berth.runtime.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.linux.Mounts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class OciFeaturesTest {
    private static final String RUNC_1_1 = """
            {"ociVersionMin":"1.0.0","mountOptions":["bind","rbind","ro","rro","rprivate","rw"],
             "linux":{"namespaces":["mount","user"]}}""";
    private static final String WITHOUT_RRO = """
            {"ociVersionMin":"1.0.0","mountOptions":["bind","rbind","ro","rprivate","rw"]}""";

    @Test
    void rroFromTheFeaturesMountOptions() {
        assertTrue(OciFeatures.from(Optional.of(RUNC_1_1), "", true).recursiveReadOnlyMounts());
        assertFalse(OciFeatures.from(Optional.of(WITHOUT_RRO), "", true).recursiveReadOnlyMounts());
        assertFalse(OciFeatures.from(Optional.of("not json"), "", true).recursiveReadOnlyMounts());
    }

    @Test
    void withoutFeaturesSubcommandOnlyCrunFromVersion14Has() {
        assertTrue(OciFeatures.from(Optional.empty(), "crun version 1.8.1\ncommit: f8a0\n", true)
                .recursiveReadOnlyMounts());
        assertTrue(OciFeatures.from(Optional.empty(), "crun version 1.4\n", true).recursiveReadOnlyMounts());
        assertFalse(OciFeatures.from(Optional.empty(), "crun version 1.3\n", true).recursiveReadOnlyMounts());
        assertFalse(OciFeatures.from(Optional.empty(), "runc version 1.0.3\n", true).recursiveReadOnlyMounts(),
                "an old runc ignores rro silently");
        assertFalse(OciFeatures.from(Optional.empty(), "", true).recursiveReadOnlyMounts());
    }

    @Test
    void aKernelWithoutMountSetattrHasNone() {
        assertFalse(OciFeatures.from(Optional.of(RUNC_1_1), "", false).recursiveReadOnlyMounts());
        assertFalse(OciFeatures.from(Optional.empty(), "crun version 1.8.1", false).recursiveReadOnlyMounts());
    }

    /** This host's runc (Debian: 1.1.5) and crun (1.8.1) both carry out rro on a kernel that can. */
    @Test
    void probesTheInstalledRuntimes() {
        assumeTrue(Mounts.mountSetattrSupported(), "kernel before 5.12");
        for (String bin : new String[] {"/usr/sbin/runc", "/usr/bin/crun"}) {
            assumeTrue(Files.isExecutable(Path.of(bin)), bin + " is not installed");
            assertTrue(OciFeatures.probe(Path.of(bin)).recursiveReadOnlyMounts(), bin);
        }
        assertEquals(OciFeatures.NONE, OciFeatures.probe(Path.of("/nonexistent/runc")));
    }
}
