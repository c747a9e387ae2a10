package dev.berth.runtime.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.linux.Errno;
import dev.berth.linux.testing.FakeCgroups;
import dev.berth.linux.testing.FakeLinuxHost;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import runtime.v1.LinuxContainerResources;

/**
 * The manager's calls through {@link dev.berth.linux.host.CgroupFiles} on the recording fake: what it
 * makes, how it kills and removes, and what it does when the kernel says EEXIST, EBUSY or EACCES.
 */
class CgroupManagerOnFakeHostTest {
    private final FakeLinuxHost host = new FakeLinuxHost();
    private final Path mount = Path.of("/sys/fs/cgroup");
    private final FakeCgroups files = host.cgroups(mount);
    private final CgroupManager manager = new CgroupManager(host, mount, new CgroupfsDriver(), false);

    @Test
    void createMakesEachMissingLevelAndIsRepeatable() {
        files.given("/pod");
        manager.create("/pod/a/b");
        assertEquals(List.of("pod/a", "pod/a/b"), host.calls("cgroups.mkdir").stream().map(c -> c.arg(0)).toList());
        manager.create("/pod/a/b");
        assertEquals(2, host.calls("cgroups.mkdir").size(), "nothing made twice");
    }

    @Test
    void createRacingAnotherCreateIsFineButOtherErrorsSayWhichCgroup() {
        host.failNext("cgroups.mkdir", Errno.EEXIST);
        manager.create("/pod");
        host.failNext("cgroups.mkdir", Errno.ENOSPC);
        BerthException e = assertThrows(BerthException.class, () -> manager.create("/other"));
        assertTrue(e.getMessage().contains("cannot create cgroup /other"), e.getMessage());
    }

    @Test
    void limitsEnableTheControllerDownTheTreeThenAreWritten() {
        files.given("/pod/c");
        manager.applyResources("/pod/c", LinuxContainerResources.newBuilder().setMemoryLimitInBytes(64 << 20).build());
        List<String> writes = host.calls("cgroups.write").stream().map(c -> c.arg(0) + "=" + c.arg(1)).toList();
        assertEquals(List.of("cgroup.subtree_control=+memory", "pod/cgroup.subtree_control=+memory",
                "pod/c/memory.max=67108864"), writes.stream().filter(w -> !w.contains("memory.swap")).toList());
    }

    @Test
    void killAllEndsTheCgroupsProcessesThroughCgroupKill() {
        files.given("/pod/c");
        int pid = host.processes().add(0, List.of("sleep", "1d"));
        files.write("/pod/c/cgroup.procs", Integer.toString(pid));
        assertTrue(manager.killAll("/pod/c", 1_000));
        assertEquals(List.of(), host.processes().live());
        assertEquals(List.of(), host.calls("processes.kill"), "one write to cgroup.kill, no signal by pid");
        manager.remove("/pod/c");
        assertEquals(Set.of("/pod"), files.directories());
    }

    @Test
    void removeWaitsOutABriefBusySpellAndIgnoresWhatIsGone() {
        files.given("/pod/c");
        host.failNext("cgroups.rmdir", Errno.EBUSY);
        manager.remove("/pod/c");
        assertFalse(files.directories().contains("/pod/c"));
        assertEquals(2, host.calls("cgroups.rmdir").size(), "tried again after EBUSY");
        manager.remove("/pod/c"); // gone: nothing to do
        assertEquals(2, host.calls("cgroups.rmdir").size());
    }

    @Test
    void removeRefusedForAnotherReasonFailsAtOnce() {
        files.given("/pod/c");
        host.failWhen("cgroups.rmdir", c -> true, Errno.EACCES);
        BerthException e = assertThrows(BerthException.class, () -> manager.remove("/pod/c"));
        assertTrue(e.getMessage().contains("cannot remove cgroup /pod/c"), e.getMessage());
        assertEquals(1, host.calls("cgroups.rmdir").size(), "EACCES is not retried");
    }

    @Test
    void oomKillsAndReadsComeThroughTheHierarchy() {
        files.given("/pod/c");
        files.write("/pod/c/memory.events", "oom 1\noom_kill 2\n");
        assertEquals(2, manager.oomKills("/pod/c"));
        assertEquals(0, manager.oomKills("/pod/gone"));
        assertTrue(manager.read("/pod/gone", "memory.current").isEmpty());
    }
}
