package dev.berth.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** chattr +T through FS_IOC_SETFLAGS, on the test's own temp directory (ext4 on the CI hosts). */
class InodeFlagsTest {
    @TempDir
    Path tmp;

    @Test
    void addsTheTopDirectoryFlagAndKeepsTheOthers() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("layers"));
        int before = InodeFlags.get(dir);
        assumeTrue(before >= 0, "the temp directory's file system has no inode flags");
        assertEquals(0, before & InodeFlags.TOP_DIRECTORY, "a new directory is not a top directory");
        assumeTrue(InodeFlags.add(dir, InodeFlags.TOP_DIRECTORY), "the file system has no top-directory flag");
        int after = InodeFlags.get(dir);
        assertEquals(InodeFlags.TOP_DIRECTORY, after & InodeFlags.TOP_DIRECTORY, "lsattr shows T");
        assertEquals(before, after & ~InodeFlags.TOP_DIRECTORY, "other flags (extents) unchanged");
        assertTrue(InodeFlags.add(dir, InodeFlags.TOP_DIRECTORY), "adding it again is a no-op that succeeds");
        assertEquals(after, InodeFlags.get(dir));
    }

    @Test
    void neverFollowsASymlinkAndNamesAMissingPath() throws Exception {
        Path real = Files.createDirectory(tmp.resolve("real"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        assertThrows(LinuxException.class, () -> InodeFlags.add(link, InodeFlags.TOP_DIRECTORY), "O_NOFOLLOW: ELOOP");
        int flags = InodeFlags.get(real);
        assumeTrue(flags >= 0);
        assertEquals(0, flags & InodeFlags.TOP_DIRECTORY, "the symlink's target was left alone");
        LinuxException e = assertThrows(LinuxException.class, () -> InodeFlags.get(tmp.resolve("missing")));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }
}
