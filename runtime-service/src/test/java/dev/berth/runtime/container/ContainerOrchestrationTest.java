package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.linux.Errno;
import dev.berth.linux.testing.FakeLinuxHost;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import dev.berth.runtime.container.ContainerRecord.Phase;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntimes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ImageSpec;

/**
 * CreateContainer's rollback when conmon or the runtime fails, StartContainer's failure, and
 * recovery after a crash, on the recording fake host with a fake conmon and a fake OCI runtime.
 * No root needed.
 */
class ContainerOrchestrationTest {
    @TempDir
    Path tmp;

    private final FakeLinuxHost host = new FakeLinuxHost();
    private final FakeConmon conmon = FakeConmon.install(host);
    private FakeOciRuntime runtime;
    private StateStore store;
    private Path cgroupRoot;
    private ContainerService service;

    @BeforeEach
    void setUp() throws IOException {
        // the runtime puts its init into the container's cgroup
        conmon.onInit = (id, init) -> host.cgroups(cgroupRoot).write("/pod1/berth-" + id + "/cgroup.procs",
                Integer.toString(init));
        runtime = new FakeOciRuntime("runc", tmp.resolve("run"), host);
        store = StateStore.open(tmp.resolve("state"));
        cgroupRoot = tmp.resolve("cgroup");
        host.cgroups(cgroupRoot).given("/pod1"); // the pod's, made by RunPodSandbox
        TestFixtures.Images images = new TestFixtures.Images();
        Path lower = Files.createDirectories(tmp.resolve("image/rootfs"));
        images.byRef.put("busybox", TestFixtures.image("sha256:" + "ab".repeat(32), lower,
                TestFixtures.config(List.of(), List.of("sh"), "")));
        TestFixtures.Pods pods = new TestFixtures.Pods();
        pods.byId.put("pod1", TestFixtures.pod("pod1", tmp.resolve("pods/pod1"), "/pod1", ""));
        service = newService(images, pods);
    }

    private TestFixtures.Images images;
    private TestFixtures.Pods pods;

    private ContainerService newService(TestFixtures.Images images, TestFixtures.Pods pods) {
        this.images = images;
        this.pods = pods;
        return new ContainerService(store, images, pods, new OciRuntimes(List.of(runtime), "runc"),
                new Conmon(Path.of("/usr/bin/conmon"), tmp.resolve("run/exits"), tmp.resolve("run/attach"),
                        host.processes()),
                new CgroupManager(host, cgroupRoot, new CgroupfsDriver(), true),
                new ContainerService.Settings(tmp.resolve("containers"), tmp.resolve("no-seccomp.json"), false, 1 << 20),
                host);
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    private static ContainerConfig config(String name) {
        return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage("busybox")).addCommand("true").build();
    }

    /** No mount, no process, no container directory, no record, no container cgroup left. */
    private void assertNothingLeft() throws IOException {
        assertEquals(List.of("cgroup /pod1"), host.leftovers(), "left on the host");
        Path containers = tmp.resolve("containers");
        if (Files.isDirectory(containers)) {
            try (var s = Files.list(containers)) {
                assertEquals(List.of(), s.toList(), "container directories left");
            }
        }
        assertEquals(List.of(), store.list(ContainerRecord.KIND, ContainerRecord.class), "records left");
    }

    private void assertCreateFailsAndLeavesNothing(String messagePart) throws IOException {
        BerthException e = assertThrows(BerthException.class, () -> service.create("pod1", config("c")));
        assertTrue(e.getMessage().contains(messagePart), e.getMessage());
        assertNothingLeft();
        // the name is free again
        host.clearFailures();
        conmon.outcome = FakeConmon.Outcome.WORKS;
        String id = service.create("pod1", config("c"));
        assertEquals(Phase.CREATED, service.status(id).phase());
    }

    // ---------------------------------------------------------------- create

    @Test
    void createMountsTheRootThenStartsTheMonitorAndRemoveUndoesIt() throws IOException {
        String id = service.create("pod1", config("c"));

        List<String> ops = host.ops();
        assertTrue(ops.indexOf("mounts.overlay") >= 0 && ops.indexOf("mounts.overlay") < ops.indexOf(
                "processes.spawnReporting"), ops.toString());
        ContainerRecord r = service.status(id);
        assertEquals(Phase.CREATED, r.phase());
        assertEquals(host.processes().find("runc-init " + id).get(0), r.pid());
        assertEquals(1, host.mounts().mounted().size());
        assertTrue(r.cgroup().startsWith("/pod1/") && host.cgroups(cgroupRoot).directories().contains(r.cgroup()),
                r.cgroup());
        assertEquals(r.cgroup(), host.cgroups(cgroupRoot).cgroupOf(r.pid()), "the init is in the container's cgroup");

        service.remove(id);
        assertNothingLeft();
    }

    @Test
    void runtimeFailureUnderConmonKillsTheMonitorAndUndoesTheRoot() throws IOException {
        conmon.outcome = FakeConmon.Outcome.RUNTIME_FAILS;
        assertCreateFailsAndLeavesNothing("runc create failed");
        assertTrue(host.calls("processes.kill").stream().anyMatch(c -> c.arg(1).equals("9")),
                "the lingering monitor got SIGKILL");
    }

    @Test
    void conmonThatSaysNothingIsReportedAndUndone() throws IOException {
        conmon.outcome = FakeConmon.Outcome.SAYS_NOTHING;
        assertCreateFailsAndLeavesNothing("without reporting a pid");
    }

    @Test
    void conmonThatCannotBeSpawnedLeavesNothing() throws IOException {
        host.failNext("processes.spawnReporting", Errno.EAGAIN);
        assertCreateFailsAndLeavesNothing("spawnReporting");
    }

    @Test
    void conmonSpawnFailureUndoesTheMountAndTheCgroupItFollows() throws IOException {
        host.failNext("processes.spawnReporting", Errno.EAGAIN);
        BerthException e = assertThrows(BerthException.class, () -> service.create("pod1", config("c")));
        assertTrue(e.getMessage().contains("processes.spawnReporting"), e.getMessage());
        List<String> ops = host.ops();
        // the mount and the cgroup were made before the spawn, and undone after it failed
        int spawn = ops.indexOf("processes.spawnReporting");
        assertTrue(ops.indexOf("mounts.overlay") < spawn && ops.indexOf("cgroups.mkdir") < spawn, ops.toString());
        assertTrue(ops.lastIndexOf("mounts.unmount") > spawn, ops.toString());
        assertTrue(ops.lastIndexOf("cgroups.rmdir") > spawn, ops.toString());
        assertNothingLeft();
    }

    @Test
    void runtimeInitOrphanedInTheCgroupIsKilledThroughIt() throws IOException {
        conmon.outcome = FakeConmon.Outcome.RUNTIME_FAILS_INIT_ORPHANED;
        assertThrows(BerthException.class, () -> service.create("pod1", config("c")));
        assertTrue(host.calls("cgroups.write").stream().anyMatch(c -> c.arg(0).endsWith("/cgroup.kill")),
                host.calls("cgroups.write").toString());
        assertNothingLeft();
    }

    @Test
    void withoutCgroupKillTheOrphanIsKilledByPid() throws IOException {
        host.cgroups(cgroupRoot).withoutKillFile(); // a kernel before 5.14
        conmon.outcome = FakeConmon.Outcome.RUNTIME_FAILS_INIT_ORPHANED;
        assertThrows(BerthException.class, () -> service.create("pod1", config("c")));
        // the runtime's init is the one process put into the container's cgroup
        int init = host.calls("cgroups.write").stream().filter(c -> c.arg(0).endsWith("/cgroup.procs"))
                .map(c -> Integer.parseInt(c.arg(1))).findFirst().orElseThrow();
        assertTrue(host.calls("processes.kill").stream().anyMatch(c -> c.arg(0).equals(Integer.toString(init))
                && c.arg(1).equals("9")), "SIGKILL to the orphan " + init + ": " + host.calls("processes.kill"));
        assertNothingLeft();
    }

    @Test
    void cgroupThatStaysBusyKeepsTheRecordForARetriedRemoval() throws IOException {
        conmon.outcome = FakeConmon.Outcome.RUNTIME_FAILS;
        host.failWhen("cgroups.rmdir", c -> c.arg(0).contains("berth-"), Errno.EBUSY);
        BerthException e = assertThrows(BerthException.class, () -> service.create("pod1", config("c")));
        assertTrue(e.getMessage().contains("runc create failed"), e.getMessage());
        assertTrue(Arrays.stream(e.getSuppressed()).anyMatch(x -> x.getMessage().contains("cannot remove cgroup")),
                "the cleanup failure travels with the error");
        // the record stays (so the container is listed and can be removed), the rest is undone
        List<ContainerRecord> left = store.list(ContainerRecord.KIND, ContainerRecord.class);
        assertEquals(1, left.size());
        assertEquals(List.of(), host.mounts().mounted());
        assertEquals(List.of(), host.processes().live());

        host.clearFailures();
        service.remove(left.get(0).id());
        assertNothingLeft();
    }

    @Test
    void overlayFailureNeverStartsAMonitor() throws IOException {
        host.failNext("mounts.overlay", Errno.EINVAL);
        BerthException e = assertThrows(BerthException.class, () -> service.create("pod1", config("c")));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), e.getMessage());
        assertEquals(List.of(), host.calls("processes.spawnReporting"));
        assertNothingLeft();
    }

    @Test
    void rootThatCannotBeUnmountedIsNeverDeleted() throws IOException {
        conmon.outcome = FakeConmon.Outcome.RUNTIME_FAILS;
        host.failWhen("mounts.unmount", c -> c.arg(0).endsWith("rootfs"), Errno.EBUSY);
        assertThrows(BerthException.class, () -> service.create("pod1", config("c")));
        // the image's layers below a mounted root must never be walked into and deleted
        assertTrue(Files.isDirectory(tmp.resolve("image/rootfs")));
        assertEquals(1, host.mounts().mounted().size(), host.leftovers().toString());
        assertEquals(List.of(), host.processes().live(), "the monitor was still killed");
    }

    // ---------------------------------------------------------------- start

    @Test
    void startFailureIsRecordedAsAnExitNotLeftCreated() {
        String id = service.create("pod1", config("c"));
        runtime.startFails = true;
        BerthException e = assertThrows(BerthException.class, () -> service.start(id));
        assertTrue(e.getMessage().contains("executable file not found"), e.getMessage());
        ContainerRecord r = service.status(id);
        assertEquals(Phase.EXITED, r.phase());
        assertEquals(128, r.exitCode());
        assertEquals("StartError", r.reason());
    }

    // ---------------------------------------------------------------- recovery

    @Test
    void recoveryCleansUpAContainerCaughtCreating() throws IOException {
        String id = service.create("pod1", config("c"));
        // the daemon died after the monitor started and before CREATED was committed
        store.put(ContainerRecord.KIND, id, service.status(id).withPhase(Phase.CREATING));

        ContainerService restarted = newService(images, pods);
        assertEquals(1, restarted.recover());

        assertNothingLeft();
    }

    @Test
    void recoveryReportsAContainerWhoseMonitorAndProcessDiedAsExited() {
        String id = started("c");
        String other = started("other");
        // the node lost both processes while the daemon was down: no exit file was written
        endMonitor(id);

        ContainerService restarted = newService(images, pods);
        restarted.recover();

        ContainerRecord r = restarted.status(id);
        assertEquals(Phase.EXITED, r.phase());
        assertEquals(255, r.exitCode());
        assertTrue(r.message().contains("left no exit code"), r.message());
        assertEquals(Phase.RUNNING, restarted.status(other).phase(), "the other container is still running");
    }

    @Test
    void aContainerKilledWithItsMonitorIsReportedExitedByStatusAndList() {
        String id = started("c");
        String other = started("other");
        // kill -9 of the monitor and of the container: nothing will ever write an exit file
        endMonitor(id);

        ContainerRecord r = service.status(id);
        assertEquals(Phase.EXITED, r.phase(), "ContainerStatus while the daemon runs");
        assertEquals(255, r.exitCode());
        assertTrue(r.message().contains("left no exit code"), r.message());
        assertEquals(Phase.RUNNING, service.status(other).phase(), "the other container is still running");
        assertEquals(Phase.EXITED, service.list(null).stream().filter(c -> c.id().equals(id)).findFirst()
                .orElseThrow().phase(), "ListContainers agrees");
    }

    @Test
    void aContainerWhoseMonitorAloneWasKilledStaysRunning() {
        String id = started("c");
        int init = host.processes().children(monitorPid(id)).get(0);
        host.processes().reparent(init, 1);
        endMonitor(id);

        assertEquals(Phase.RUNNING, service.status(id).phase(), "its process lives on");
        host.processes().end(init);
        assertEquals(Phase.EXITED, service.status(id).phase(), "noticed once the process is gone too");
    }

    @Test
    void recoveryTakesTheExitCodeConmonRecorded() throws IOException {
        String id = started("c");
        endMonitor(id);
        Files.writeString(tmp.resolve("run/exits").resolve(id), "137");

        ContainerService restarted = newService(images, pods);
        restarted.recover();

        ContainerRecord r = restarted.status(id);
        assertEquals(Phase.EXITED, r.phase());
        assertEquals(137, r.exitCode());
        assertEquals("Error", r.reason());
    }

    /** A container created and started in pod1. */
    private String started(String name) {
        String id = service.create("pod1", config(name));
        service.start(id);
        return id;
    }

    /** The container's monitor dies as by kill -9 (its descendants with it): no exit file is written. */
    private void endMonitor(String id) {
        host.processes().end(monitorPid(id));
    }

    private int monitorPid(String id) {
        try {
            return Integer.parseInt(Files.readString(ContainerPaths.of(tmp.resolve("containers"), id).persist()
                    .resolve("conmon.pid")).strip());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
