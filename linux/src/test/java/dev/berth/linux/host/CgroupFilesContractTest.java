package dev.berth.linux.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.linux.Errno;
import dev.berth.linux.LinuxException;
import dev.berth.linux.testing.FakeLinuxHost;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What callers of {@link CgroupFiles} rely on, checked against the system implementation (on a
 * plain directory: no root needed) and the fake, so the fake answers as the kernel does.
 */
class CgroupFilesContractTest {
    @TempDir
    Path tmp;

    static Stream<Function<Path, CgroupFiles>> implementations() {
        return Stream.of(mount -> LinuxHost.system().cgroups(mount), mount -> new FakeLinuxHost().cgroups(mount));
    }

    private static int errnoOf(Runnable r) {
        return assertThrows(LinuxException.class, r::run).errno();
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void mkdirSaysEexistAndEnoent(Function<Path, CgroupFiles> impl) {
        CgroupFiles g = impl.apply(tmp);
        g.mkdir("/a");
        assertTrue(g.isDirectory("/a"));
        assertTrue(g.isDirectory("a"), "with or without the leading slash");
        assertEquals(Errno.EEXIST, errnoOf(() -> g.mkdir("/a")));
        assertEquals(Errno.ENOENT, errnoOf(() -> g.mkdir("/missing/b")));
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void rmdirRefusesACgroupWithChildrenAndSaysEnoentWhenGone(Function<Path, CgroupFiles> impl) {
        CgroupFiles g = impl.apply(tmp);
        g.mkdir("/a");
        g.mkdir("/a/b");
        assertEquals(List.of("b"), g.children("/a"));
        int busy = errnoOf(() -> g.rmdir("/a"));
        assertTrue(busy == Errno.EBUSY || busy == Errno.ENOTEMPTY, "errno " + busy);
        g.rmdir("/a/b");
        g.rmdir("/a");
        assertFalse(g.exists("/a"));
        assertEquals(Errno.ENOENT, errnoOf(() -> g.rmdir("/a")));
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void filesReadBackWhatWasWrittenAndMissingOnesAreEnoent(Function<Path, CgroupFiles> impl) {
        CgroupFiles g = impl.apply(tmp);
        g.mkdir("/a");
        g.write("/a/pids.max", "10");
        assertEquals("10", g.read("/a/pids.max").strip());
        assertEquals(Errno.ENOENT, errnoOf(() -> g.read("/a/no.such")));
        assertEquals(Errno.ENOENT, errnoOf(() -> g.write("/gone/pids.max", "1")));
        assertEquals(tmp.resolve("a/pids.max"), g.resolve("/a/pids.max"));
        assertEquals(Set.of(), Set.copyOf(g.children("/a")));
    }
}
