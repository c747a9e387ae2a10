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
import dev.berth.runtime.oci.OciFeatures;
import dev.berth.runtime.oci.OciRuntime;
import dev.berth.runtime.oci.OciRuntimes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
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
    /** How the fake conmon behaves at the next create. */
    enum Monitor { WORKS, RUNTIME_FAILS, RUNTIME_FAILS_INIT_ORPHANED, SAYS_NOTHING }

    @TempDir
    Path tmp;

    private final FakeLinuxHost host = new FakeLinuxHost();
    private final List<String> runtimeCalls = new ArrayList<>();
    private volatile Monitor monitor = Monitor.WORKS;
    private volatile boolean startFails;
    private StateStore store;
    private Path cgroupRoot;
    private ContainerService service;

    /** The runtime as berth drives it after create: start, kill, delete, state, against the fake processes. */
    private final class FakeRuntime implements OciRuntime {
        @Override
        public String handler() {
            return "runc";
        }

        @Override
        public Path binary() {
            return Path.of("/usr/sbin/runc");
        }

        @Override
        public Path root() {
            return tmp.resolve("run/runc");
        }

        @Override
        public OciFeatures features() {
            return OciFeatures.NONE;
        }

        @Override
        public void start(String id) {
            runtimeCalls.add("start " + id);
            if (startFails) {
                throw BerthException.internal("runc start: exec: \"nope\": executable file not found", null);
            }
        }

        @Override
        public void kill(String id, String signal) {
            runtimeCalls.add("kill " + id + " " + signal);
            if (host.processes().find("runc-init " + id).isEmpty()) {
                return;
            }
            // the init dies; its monitor records the exit code and exits, as conmon does
            try {
                Files.writeString(Files.createDirectories(tmp.resolve("run/exits")).resolve(id), "137");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            host.processes().find("-c " + id).forEach(host.processes()::end);
        }

        @Override
        public void delete(String id, boolean force) {
            runtimeCalls.add("delete " + id);
        }

        @Override
        public Optional<OciState> state(String id) {
            List<Integer> init = host.processes().find("runc-init " + id);
            return Optional.of(new OciState(init.isEmpty() ? "stopped" : "running", init.isEmpty() ? 0 : init.get(0)));
        }

        @Override
        public void update(String id, Path resourcesJson) {}

        @Override
        public List<String> execCommand(String id, Path processJson, Path pidFile) {
            return List.of();
        }
    }

    @BeforeEach
    void setUp() throws IOException {
        // conmon daemonizes a monitor (its cmdline names the persist dir, its pid goes to -P) which
        // runs "runc create"; it reports the container's init pid, or -1 and the runtime's error
        host.processes().program("conmon", (procs, pid, argv, env) -> {
            String id = argv.get(argv.indexOf("-c") + 1);
            int mon = procs.add(0, argv);
            try {
                Files.writeString(Path.of(argv.get(argv.indexOf("-P") + 1)), Integer.toString(mon));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            // the runtime puts its init into the container's cgroup; an init orphaned by a dying
            // runtime is reparented away from the monitor, so only the cgroup still finds it
            int init = procs.add(monitor == Monitor.RUNTIME_FAILS_INIT_ORPHANED ? 0 : mon, List.of("runc-init", id));
            host.cgroups(cgroupRoot).write("/pod1/berth-" + id + "/cgroup.procs", Integer.toString(init));
            return switch (monitor) {
                case WORKS -> "{\"data\": " + init + "}";
                // the runtime failed with its init left behind, and the monitor is still there
                case RUNTIME_FAILS, RUNTIME_FAILS_INIT_ORPHANED -> "{\"data\": -1, \"message\": \"runc create failed: unable to start container "
                        + "process: exec: \\\"nope\\\": executable file not found\"}";
                case SAYS_NOTHING -> "";
            };
        });
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
        return new ContainerService(store, images, pods, new OciRuntimes(List.of(new FakeRuntime()), "runc"),
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
        monitor = Monitor.WORKS;
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
        monitor = Monitor.RUNTIME_FAILS;
        assertCreateFailsAndLeavesNothing("runc create failed");
        assertTrue(host.calls("processes.kill").stream().anyMatch(c -> c.arg(1).equals("9")),
                "the lingering monitor got SIGKILL");
    }

    @Test
    void conmonThatSaysNothingIsReportedAndUndone() throws IOException {
        monitor = Monitor.SAYS_NOTHING;
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
        monitor = Monitor.RUNTIME_FAILS_INIT_ORPHANED;
        assertThrows(BerthException.class, () -> service.create("pod1", config("c")));
        assertTrue(host.calls("cgroups.write").stream().anyMatch(c -> c.arg(0).endsWith("/cgroup.kill")),
                host.calls("cgroups.write").toString());
        assertNothingLeft();
    }

    @Test
    void withoutCgroupKillTheOrphanIsKilledByPid() throws IOException {
        host.cgroups(cgroupRoot).withoutKillFile(); // a kernel before 5.14
        monitor = Monitor.RUNTIME_FAILS_INIT_ORPHANED;
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
        monitor = Monitor.RUNTIME_FAILS;
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
        monitor = Monitor.RUNTIME_FAILS;
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
        startFails = true;
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
        String id = service.create("pod1", config("c"));
        service.start(id);
        String other = service.create("pod1", config("other"));
        service.start(other);
        // the node lost both processes while the daemon was down: no exit file was written
        int mon = Integer.parseInt(readPid(id));
        host.processes().end(mon);

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
        String id = service.create("pod1", config("c"));
        service.start(id);
        String other = service.create("pod1", config("other"));
        service.start(other);
        // kill -9 of the monitor and of the container: nothing will ever write an exit file
        host.processes().end(Integer.parseInt(readPid(id)));

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
        String id = service.create("pod1", config("c"));
        service.start(id);
        int mon = Integer.parseInt(readPid(id));
        int init = host.processes().children(mon).get(0);
        host.processes().reparent(init, 1);
        host.processes().end(mon);

        assertEquals(Phase.RUNNING, service.status(id).phase(), "its process lives on");
        host.processes().end(init);
        assertEquals(Phase.EXITED, service.status(id).phase(), "noticed once the process is gone too");
    }

    @Test
    void recoveryTakesTheExitCodeConmonRecorded() throws IOException {
        String id = service.create("pod1", config("c"));
        service.start(id);
        int mon = Integer.parseInt(readPid(id));
        host.processes().end(mon);
        Files.writeString(tmp.resolve("run/exits").resolve(id), "137");

        ContainerService restarted = newService(images, pods);
        restarted.recover();

        ContainerRecord r = restarted.status(id);
        assertEquals(Phase.EXITED, r.phase());
        assertEquals(137, r.exitCode());
        assertEquals("Error", r.reason());
    }

    private String readPid(String id) {
        try {
            return Files.readString(ContainerPaths.of(tmp.resolve("containers"), id).persist().resolve("conmon.pid"))
                    .strip();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
