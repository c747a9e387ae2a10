package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parts of the user namespace mounts that need no privileges. */
class UserNamespaceMountsTest {
    @TempDir
    Path tmp;

    @Test
    void layersAreSeenThroughTheirDeepestCommonParent() {
        assertEquals(Path.of("/var/lib/berth/layers"), UserNamespaceMounts.commonParent(List.of(
                Path.of("/var/lib/berth/layers/a/diff"), Path.of("/var/lib/berth/layers/b/diff"))));
        assertEquals(Path.of("/var/lib/berth/layers/a"), UserNamespaceMounts.commonParent(List.of(
                Path.of("/var/lib/berth/layers/a/diff"))));
        assertEquals(Path.of("/"), UserNamespaceMounts.commonParent(List.of(Path.of("/a/x"), Path.of("/b/y"))));
    }

    @Test
    void aDirectoryContainerRootCannotPassIsNamed() throws Exception {
        Path closed = Files.createDirectories(tmp.resolve("closed"));
        Path container = Files.createDirectories(closed.resolve("containers/c1"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx------"));
        BerthException e = assertThrows(BerthException.class, () -> UserNamespaceMounts.requireSearchable(container));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains(closed.toString()) && e.getMessage().contains("700"), e.getMessage());
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx--x--x"));
        assumeSearchableAbove(tmp);
        UserNamespaceMounts.requireSearchable(container);
    }

    /** The check walks up to /: the temporary directory's own parents must allow it too. */
    private static void assumeSearchableAbove(Path dir) throws Exception {
        for (Path d = dir.getParent(); d != null; d = d.getParent()) {
            int mode = (Integer) Files.getAttribute(d, "unix:mode");
            org.junit.jupiter.api.Assumptions.assumeTrue((mode & 01) != 0, d + " is not searchable by others");
        }
    }

    @Test
    void mountinfoTellsWhatIsMounted() {
        assertTrue(new RootFs(dev.berth.linux.host.LinuxHost.system().mounts()).idmapped().isMountedAt(Path.of("/")));
        assertTrue(new RootFs(dev.berth.linux.host.LinuxHost.system().mounts()).idmapped().isMountedAt(Path.of("/proc")));
        assertFalse(new RootFs(dev.berth.linux.host.LinuxHost.system().mounts()).idmapped().isMountedAt(tmp.resolve("nothing-here")));
    }
}
