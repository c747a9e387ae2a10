package dev.berth.linux.ns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.linux.IdMappedMounts;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real user namespace made by a holder process (root only), and idmapping through it. */
class UserNamespaceHolderTest {
    @TempDir
    Path tmp;

    @Test
    void holderMakesOwnedNamespacesTakesMapsAndIsReaped() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "writing id maps needs root");
        int pid;
        try (UserNamespaceHolder h = UserNamespaceHolder.start(Namespaces.CLONE_NEWNET | Namespaces.CLONE_NEWUTS)) {
            pid = h.pid();
            for (String kind : new String[] {"user", "net", "uts"}) {
                assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns", kind)),
                        Files.readSymbolicLink(h.namespaceFile(kind)), kind);
            }
            assertEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/ipc")),
                    Files.readSymbolicLink(h.namespaceFile("ipc")), "IPC was not asked for");
            h.writeMaps("0 200000 65536\n", "0 300000 1000\n");
            assertEquals("0 200000 65536", Files.readString(Path.of("/proc", Integer.toString(pid), "uid_map"))
                    .strip().replaceAll("\\s+", " "));
            assertEquals("0 300000 1000", Files.readString(Path.of("/proc", Integer.toString(pid), "gid_map"))
                    .strip().replaceAll("\\s+", " "));
            // a directory on this filesystem can be idmapped through it (ext4, tmpfs on Linux 6.3+)
            IdMappedMounts.check(tmp, h.namespaceFile("user"));
            // the host's own user namespace is no idmapping (the kernel refuses it)
            assertThrows(LinuxException.class, () -> IdMappedMounts.check(tmp, Path.of("/proc/self/ns/user")));
        }
        assertFalse(Processes.alive(pid), "the holder is killed and reaped on close");
    }
}
