package dev.berth.linux.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.linux.Errno;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fake's record, failure injection and model behave as the tests that use it assume. */
class FakeLinuxHostTest {
    @TempDir
    Path tmp;

    private final FakeLinuxHost host = new FakeLinuxHost();

    @Test
    void recordsEveryCallWithItsArgumentsAndFailsTheChosenOneOnce() throws Exception {
        Path target = Files.createDirectory(tmp.resolve("t"));
        host.failNext("mounts.mount", Errno.EPERM);
        LinuxException e = assertThrows(LinuxException.class, () -> host.mounts().bind(tmp, target));
        assertEquals(Errno.EPERM, e.errno());
        assertEquals(List.of(), host.mounts().mounted(), "a failed call changes nothing");
        host.mounts().bind(tmp, target);
        assertEquals(List.of(target), host.mounts().mounted());
        assertEquals(List.of("mounts.mount", "mounts.mount"), host.ops());
        assertEquals(tmp.toString(), host.calls().get(1).arg(0));
    }

    @Test
    void mountsNeedTheirTargetAndUnmountOfNothingIsEinval() {
        Path missing = tmp.resolve("missing");
        assertEquals(Errno.ENOENT, assertThrows(LinuxException.class,
                () -> host.mounts().mount("tmpfs", missing, "tmpfs", 0, null)).errno());
        assertEquals(Errno.EINVAL, assertThrows(LinuxException.class, () -> host.mounts().unmount(tmp, 0)).errno());
        host.mounts().ensureUnmounted(tmp); // "not mounted" is done
    }

    @Test
    void pinnedNamespacesLiveWhileMounted() throws Exception {
        Path net = Files.createFile(tmp.resolve("net"));
        Path uts = Files.createFile(tmp.resolve("uts"));
        host.namespaces().createAndPin(Map.of("net", net, "uts", uts), "pod");
        assertEquals(2, host.namespaces().live().size());
        assertEquals("pod", host.namespaces().hostnameOf(uts));
        host.mounts().ensureUnmounted(net);
        host.mounts().ensureUnmounted(uts);
        assertEquals(List.of(), host.leftovers());
    }

    @Test
    void killingAProcessEndsItsChildrenAndAKillChildWrapper() {
        int parent = host.processes().startDetached(List.of("unshare", "--fork", "--kill-child", "sh"));
        List<Integer> children = host.processes().children(parent);
        assertEquals(1, children.size());
        assertTrue(host.processes().kill(children.get(0), Processes.SIGKILL));
        assertFalse(host.processes().alive(parent), "unshare --kill-child exits with its child");
        assertFalse(host.processes().kill(parent, Processes.SIGKILL), "ESRCH is false, as kill(2) says");
    }

    @Test
    void cgroupKillEndsItsProcessesAndABusyCgroupCannotBeRemoved() {
        FakeCgroups g = host.cgroups(tmp);
        g.mkdir("/pod");
        int pid = host.processes().startDetached(List.of("sleep"));
        g.write("/pod/cgroup.procs", Integer.toString(pid));
        assertEquals(pid + "\n", g.read("/pod/cgroup.procs"));
        assertEquals(Errno.EBUSY, assertThrows(LinuxException.class, () -> g.rmdir("/pod")).errno());
        g.write("/pod/cgroup.kill", "1");
        assertFalse(host.processes().alive(pid));
        g.rmdir("/pod");
        assertEquals(List.of(), host.leftovers());
    }

    @Test
    void spawnedChildRunsItsProgramOnTheGivenPipesUntilReaped() throws Exception {
        host.processes().program("conmon", (procs, pid, argv, env) -> {
            FakeProcesses.write(procs.fdsOf(pid).get(1), "out\n");
            return "{\"data\": 7}\n";
        });
        Processes.Pipe sync = Processes.pipe();
        Processes.Pipe out = Processes.pipe();
        try {
            int pid = host.processes().spawn(List.of("/usr/bin/conmon", "-c", "x"), Map.of(),
                    Map.of(3, sync.write(), 1, out.write()));
            Processes.close(sync.write());
            Processes.close(out.write());
            assertEquals("{\"data\": 7}\n", Processes.readLine(sync.read(), 100, 1000).text());
            assertEquals("out\n", Processes.readLine(out.read(), 100, 1000).text());
            assertTrue(host.processes().alive(pid), "a spawned child runs until reaped");
            assertEquals(0, host.processes().waitFor(pid, 10));
            assertFalse(host.processes().alive(pid));
        } finally {
            for (int fd : new int[] {sync.read(), out.read()}) {
                Processes.close(fd);
            }
        }
    }

    @Test
    void killTreeEndsTheTreeOnlyUnderTheExpectedParent() {
        int monitor = host.processes().add(0, List.of("conmon"));
        int proc = host.processes().add(monitor, List.of("sh"));
        int child = host.processes().add(proc, List.of("sleep"));
        assertEquals(0, host.processes().killTree(proc, monitor + 1000), "not the parent it was started by");
        assertEquals(List.of(monitor, proc, child), host.processes().live());
        assertEquals(2, host.processes().killTree(proc, monitor));
        assertEquals(List.of(monitor), host.processes().live());
    }

    @Test
    void withoutKillFileACgroupHasNoCgroupKill() {
        FakeCgroups g = host.cgroups(tmp).given("/a");
        assertTrue(g.exists("/a/cgroup.kill"));
        g.withoutKillFile();
        g.mkdir("/b");
        assertFalse(g.exists("/a/cgroup.kill"));
        assertFalse(g.exists("/b/cgroup.kill"));
    }
}
