package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import runtime.v1.Int64Value;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.linux.Processes;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import dev.berth.runtime.container.ContainerRecord.Phase;
import dev.berth.runtime.exec.ExecRunner;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.sandbox.SandboxView;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import runtime.v1.Capability;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerFilter;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStateValue;
import runtime.v1.ImageSpec;
import runtime.v1.KeyValue;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.Mount;
import runtime.v1.SecurityProfile;

/**
 * Real containers: runc under conmon on an overlay of a busybox root filesystem, in the test JVM's
 * private mount namespace (java-in-mountns.sh). Host network; each container its own PID namespace.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerLifecycleTest {
    private Path tmp;
    private StateStore store;
    private ContainerService service;
    private TestFixtures.Images images;
    private TestFixtures.Pods pods;
    private CgroupManager cgroups;
    private SandboxView pod;
    private final String podCgroup = "/berth-test-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void setUp() throws Exception {
        TestFixtures.assumeContainerHost();
        tmp = Files.createTempDirectory("berth-ctr-test");
        Path lower = TestFixtures.busyboxRootfs(tmp.resolve("image/rootfs"));
        images = new TestFixtures.Images();
        images.byRef.put("busybox", TestFixtures.image("sha256:" + "ab".repeat(32), lower,
                TestFixtures.config(List.of(), List.of("sh"), "")));
        images.byRef.put("busybox-app", TestFixtures.image("sha256:" + "cd".repeat(32), lower,
                TestFixtures.config(List.of("sh", "-c"), List.of("echo default"), "app")));
        pods = new TestFixtures.Pods();
        pod = TestFixtures.pod("pod1", tmp.resolve("pods/pod1"), podCgroup, "");
        pods.byId.put("pod1", pod);
        pods.byId.put("racy-pod", TestFixtures.pod("racy-pod", tmp.resolve("pods/racy"), podCgroup, "racy"));
        store = StateStore.open(tmp.resolve("state"));
        cgroups = new CgroupManager(Path.of("/sys/fs/cgroup"), new CgroupfsDriver(), false);
        service = newService();
    }

    private ContainerService newService() {
        return TestFixtures.service(tmp, store, cgroups, images, pods,
                Map.of("runc", TestFixtures.RUNC, "crun", TestFixtures.CRUN, "racy", racyRuntime()));
    }

    /** runc, except that kill waits (up to 5 s) until the container is no longer running. */
    private Path racyRuntime() {
        Path script = tmp.resolve("racy-runc");
        try {
            if (!Files.exists(script)) {
                Files.writeString(script, """
                        #!/bin/sh
                        # berth calls: racy-runc --root DIR kill ID SIGNAL
                        if [ "$3" = kill ]; then
                          n=0
                          while [ $n -lt 100 ] && %1$s --root "$2" state "$4" 2>/dev/null | grep -q '"running"'; do
                            sleep 0.05; n=$((n+1))
                          done
                        fi
                        exec %1$s "$@"
                        """.formatted(TestFixtures.RUNC));
                script.toFile().setExecutable(true);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return script;
    }

    @AfterAll
    void tearDown() throws Exception {
        TestFixtures.cleanUp(service, store, cgroups, podCgroup, tmp);
    }

    private static ContainerConfig.Builder cfg(String name, String... cmd) {
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage("busybox"))
                .addAllCommand(List.of(cmd))
                .setLogPath(name + "/0.log");
    }

    private ContainerRecord runToExit(ContainerConfig c) throws Exception {
        String id = service.create("pod1", c);
        service.start(id);
        return awaitExit(id);
    }

    private ContainerRecord awaitExit(String id) throws Exception {
        for (int i = 0; i < 300; i++) {
            ContainerRecord r = service.status(id);
            if (r.phase() == Phase.EXITED) {
                return r;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("container " + id + " did not exit");
    }

    /** The log's messages by stream, after checking every line's CRI format. */
    private static List<String> log(ContainerRecord r, String stream) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(r.logPath()))) {
            String[] f = line.split(" ", 4);
            assertTrue(f[0].matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+([+-]\\d\\d:\\d\\d|Z)"),
                    "RFC3339Nano timestamp: " + line);
            assertTrue(f[1].equals("stdout") || f[1].equals("stderr"), line);
            assertTrue(f[2].equals("F") || f[2].equals("P"), line);
            if (f[1].equals(stream)) {
                out.add(f.length > 3 ? f[3] : "");
            }
        }
        return out;
    }

    @Test
    void exitCodeAndLogsInCriFormat() throws Exception {
        ContainerRecord r = runToExit(cfg("exits", "sh", "-c", "echo hello; echo oops >&2; exit 3").build());
        assertEquals(3, r.exitCode());
        assertEquals("Error", r.reason());
        assertTrue(r.finishedAt() >= r.startedAt() && r.startedAt() >= r.createdAt());
        assertEquals(List.of("hello"), log(r, "stdout"));
        assertEquals(List.of("oops"), log(r, "stderr"));
        assertTrue(r.logPath().startsWith(pod.config().getLogDirectory()));
        ContainerRecord ok = runToExit(cfg("ok", "true").build());
        assertEquals(0, ok.exitCode());
        assertEquals("Completed", ok.reason());
        service.remove(r.id());
        service.remove(r.id()); // idempotent
        service.remove(ok.id());
        assertThrows(BerthException.class, () -> service.status(r.id()));
        assertFalse(Files.exists(tmp.resolve("containers").resolve(r.id())));
        assertFalse(Files.exists(cgroups.dir(r.cgroup())));
    }

    /**
     * Reads run on the transport's thread and never write: an end a status call is the first to
     * see is shown at once, and committed (with its STOPPED event) by another thread.
     */
    @Test
    void anEndAReadSeesIsCommittedOffTheReadersThread() throws Exception {
        List<Thread> committers = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.CompletableFuture<ContainerRecord> stopped = new java.util.concurrent.CompletableFuture<>();
        String id = service.create("pod1", cfg("ends-unseen", "true").build());
        service.listen(e -> {
            if (e.type() == LifecycleEvent.Type.STOPPED && id.equals(e.containerId())) {
                committers.add(Thread.currentThread());
                stopped.complete(e.container());
            }
        });
        try {
            service.start(id);
            Path exitFile = tmp.resolve("run/exits").resolve(id);
            for (int i = 0; i < 250 && !Files.exists(exitFile); i++) {
                Thread.sleep(20);
            }
            assertTrue(Files.exists(exitFile), "conmon recorded the exit");
            ContainerRecord seen = service.status(id);
            assertEquals(Phase.EXITED, seen.phase());
            assertEquals("Completed", seen.reason());
            ContainerRecord committed = stopped.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(1, committers.size(), "one STOPPED event");
            assertTrue(committers.get(0) != Thread.currentThread(), "the reader committed the end itself");
            assertEquals(seen.finishedAt(), committed.finishedAt());
            assertEquals(seen.exitCode(), committed.exitCode());
            assertEquals(Phase.EXITED, service.snapshot("pod1").stream().filter(r -> r.id().equals(id)).findFirst()
                    .orElseThrow().phase(), "the end is stored");
        } finally {
            service.listen(null);
            service.remove(id);
        }
    }

    @Test
    void conmonRunsInThePodsMonitorCgroupNotTheDaemons() throws Exception {
        String id = service.create("pod1", cfg("monitored", "sleep", "1000").build());
        try {
            int monitor = new Conmon(TestFixtures.CONMON, tmp.resolve("run/exits"), tmp.resolve("run/attach"), dev.berth.linux.host.LinuxHost.system().processes()).monitorPid(ContainerPaths.of(tmp.resolve("containers"), id).persist()).orElseThrow();
            String daemon = cgroupOf(ProcessHandle.current().pid());
            String conmon = cgroupOf(monitor);
            assertFalse(conmon.equals(daemon), "conmon left the daemon's cgroup " + daemon);
            assertEquals(podCgroup + "/berth-conmon", conmon, "absolute in the v2 hierarchy, in the pod's leaf");
            service.start(id);
            assertEquals(podCgroup + "/berth-conmon", cgroupOf(monitor), "and stays there");
        } finally {
            service.remove(id);
        }
    }

    /** The "0::" line of /proc/<pid>/cgroup: the process's cgroup v2 path. */
    private static String cgroupOf(long pid) throws java.io.IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream().filter(l -> l.startsWith("0::"))
                .map(l -> l.substring(3)).findFirst().orElseThrow();
    }

    @Test
    void envArgsWorkdirAndUserFromImage() throws Exception {
        ContainerConfig c = ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName("user"))
                .setImage(ImageSpec.newBuilder().setImage("busybox-app"))
                .addArgs("echo $FOO $IMAGE_ENV; pwd; id -u; id -g; id -G; cat /etc/hostname /data/hello.txt")
                .addEnvs(KeyValue.newBuilder().setKey("FOO").setValue(ByteString.copyFromUtf8("bar")))
                .setWorkingDir("/tmp")
                .setLogPath("user.log")
                .build();
        ContainerRecord r = runToExit(c);
        assertEquals(0, r.exitCode(), String.join("\n", Files.readAllLines(Path.of(r.logPath()))));
        assertEquals(List.of("bar 1", "/tmp", "1000", "1000", "1000 2000", "testpod", "from the image"),
                log(r, "stdout"));
        service.remove(r.id());
    }

    @Test
    void runAsUserAndGroupOverrideTheImage() throws Exception {
        ContainerConfig c = cfg("runas", "sh", "-c", "id -u; id -g; id -G")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext
                        .newBuilder().setRunAsUser(Int64Value.newBuilder().setValue(4242).build()).setRunAsGroup(Int64Value.newBuilder().setValue(4343).build())
                        .addSupplementalGroups(77)))
                .build();
        ContainerRecord r = runToExit(c);
        assertEquals(List.of("4242", "4343", "4343 77"), log(r, "stdout"));
        service.remove(r.id());
    }

    @Test
    void readonlyRootfsAndDroppedCapability() throws Exception {
        ContainerRecord ro = runToExit(cfg("ro", "sh", "-c", "touch /newfile && echo wrote")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setReadonlyRootfs(true))).build());
        assertNotEquals(0, ro.exitCode());
        assertTrue(String.join("", log(ro, "stderr")).contains("Read-only file system"), "EROFS expected");
        ContainerRecord rw = runToExit(cfg("rw", "sh", "-c", "touch /newfile && echo wrote").build());
        assertEquals(List.of("wrote"), log(rw, "stdout"));

        ContainerRecord noChown = runToExit(cfg("nochown", "chown", "1234", "/data/hello.txt")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext
                        .newBuilder().setCapabilities(Capability.newBuilder().addDropCapabilities("CHOWN"))))
                .build());
        assertNotEquals(0, noChown.exitCode());
        assertTrue(String.join("", log(noChown, "stderr")).contains("Operation not permitted"));
        ContainerRecord chown = runToExit(cfg("chown", "chown", "1234", "/data/hello.txt").build());
        assertEquals(0, chown.exitCode());
        for (ContainerRecord r : List.of(ro, rw, noChown, chown)) {
            service.remove(r.id());
        }
    }

    @Test
    void seccompRuntimeDefaultBlocksSwapon() throws Exception {
        assumeTrue(Files.isRegularFile(Path.of("/usr/share/containers/seccomp.json")), "no containers-common");
        // With CAP_SYS_ADMIN swapon(2) reaches the kernel (EINVAL: not a swap file) unless seccomp blocks it.
        Capability sysAdmin = Capability.newBuilder().addAddCapabilities("SYS_ADMIN").build();
        ContainerRecord blocked = runToExit(cfg("seccomp-default", "swapon", "/bin/busybox")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext
                        .newBuilder().setCapabilities(sysAdmin).setSeccomp(SecurityProfile.newBuilder()
                                .setProfileType(SecurityProfile.ProfileType.RuntimeDefault)))).build());
        ContainerRecord open = runToExit(cfg("seccomp-unconfined", "swapon", "/bin/busybox")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext
                        .newBuilder().setCapabilities(sysAdmin).setSeccomp(SecurityProfile.newBuilder()
                                .setProfileType(SecurityProfile.ProfileType.Unconfined)))).build());
        String blockedErr = String.join("", log(blocked, "stderr"));
        String openErr = String.join("", log(open, "stderr"));
        assertTrue(blockedErr.contains("Operation not permitted"), blockedErr);
        assertFalse(openErr.contains("Operation not permitted"), openErr);
        service.remove(blocked.id());
        service.remove(open.id());
    }

    private static void assumeTrue(boolean b, String why) {
        org.junit.jupiter.api.Assumptions.assumeTrue(b, why);
    }

    @Test
    void execSyncStopAndListFilters() throws Exception {
        String id = service.create("pod1", cfg("sleeper", "sleep", "1000").putLabels("app", "sleeper").build());
        assertEquals(Phase.CREATED, service.status(id).phase());
        service.start(id);
        ContainerRecord running = service.status(id);
        assertEquals(Phase.RUNNING, running.phase());
        assertTrue(Processes.alive(running.pid()));

        ExecRunner.Result hi = service.execSync(id, List.of("sh", "-c", "echo hi; echo there >&2; exit 7"), 10);
        assertEquals(7, hi.exitCode());
        assertEquals("hi\n", new String(hi.stdout(), StandardCharsets.UTF_8));
        assertEquals("there\n", new String(hi.stderr(), StandardCharsets.UTF_8));
        ExecRunner.Result chatty = service.execSync(id, List.of("sh", "-c", "yes | head -c 3000000"), 20);
        assertEquals(1 << 20, chatty.stdout().length, "output is bounded");
        assertTrue(chatty.truncated());
        long t0 = System.nanoTime();
        BerthException timeout = assertThrows(BerthException.class,
                () -> service.execSync(id, List.of("sleep", "60"), 1));
        assertEquals(ErrorKind.DEADLINE_EXCEEDED, timeout.kind());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "killed at the timeout");
        assertEquals(List.of(), zombieChildren(), "every process berth started was reaped");
        ExecRunner.Result ps = service.execSync(id, List.of("ps", "-o", "comm"), 10);
        assertFalse(new String(ps.stdout(), StandardCharsets.UTF_8).contains("sleep 60"));

        assertEquals(1, service.list(ContainerFilter.newBuilder().setId(id).build()).size());
        assertEquals(1, service.list(ContainerFilter.newBuilder().putLabelSelector("app", "sleeper").build()).size());
        assertEquals(0, service.list(ContainerFilter.newBuilder().putLabelSelector("app", "other").build()).size());
        assertTrue(service.list(ContainerFilter.newBuilder().setState(ContainerStateValue.newBuilder()
                .setState(ContainerState.CONTAINER_RUNNING)).build()).stream().anyMatch(r -> r.id().equals(id)));
        assertTrue(service.list(ContainerFilter.newBuilder().setPodSandboxId("nopod").build()).isEmpty());

        service.execSync(id, List.of("dd", "if=/dev/zero", "of=/tmp/blob", "bs=1024", "count=200"), 10);
        List<ContainerService.Usage> usage = service.usage(id, "", Map.of("app", "sleeper"));
        assertEquals(1, usage.size());
        assertTrue(usage.get(0).layerBytes() >= 200 * 1024, "writable layer holds the new file");
        assertTrue(usage.get(0).cgroup().cpuUsageNanos() > 0, "cpu.stat usage");
        assertTrue(service.usage(id, "", Map.of("app", "other")).isEmpty());

        long s0 = System.nanoTime();
        service.stop(id, 1); // sleep as PID 1 ignores SIGTERM: killed after the timeout
        ContainerRecord stopped = service.status(id);
        assertEquals(Phase.EXITED, stopped.phase());
        assertEquals(137, stopped.exitCode());
        assertTrue(System.nanoTime() - s0 >= 900_000_000L, "waited for the grace period");
        service.stop(id, 1); // repeatable
        assertThrows(BerthException.class, () -> service.execSync(id, List.of("true"), 1));
        service.remove(id);
    }

    /** Zombie children of this JVM (what ExecSync, runc and conmon's first process leave if not reaped). */
    private static List<String> zombieChildren() throws Exception {
        long self = ProcessHandle.current().pid();
        List<String> out = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if (f[0].equals("Z") && Long.parseLong(f[1]) == self) {
                        out.add(stat);
                    }
                } catch (java.io.IOException gone) {
                    // exited meanwhile
                }
            }
        }
        return out;
    }

    @Test
    void ttyOutputIsLoggedToo() throws Exception {
        ContainerRecord r = runToExit(cfg("tty", "sh", "-c", "echo on a terminal; [ -t 1 ] && echo is a tty")
                .setTty(true).build());
        assertEquals(0, r.exitCode());
        List<String> out = log(r, "stdout");
        assertTrue(out.stream().anyMatch(l -> l.contains("on a terminal")), out.toString());
        assertTrue(out.stream().anyMatch(l -> l.contains("is a tty")), out.toString());
        service.remove(r.id());
    }

    @Test
    void stopHonoursTheSignalWithinTheTimeout() throws Exception {
        String id = service.create("pod1", cfg("trap", "sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.1; done")
                .build());
        service.start(id);
        Thread.sleep(300);
        long t0 = System.nanoTime();
        service.stop(id, 30);
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
        assertEquals(42, service.status(id).exitCode());
        service.remove(id);
    }

    @Test
    void reopenLogAfterRotation() throws Exception {
        String id = service.create("pod1", cfg("rotate", "sh", "-c",
                "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.1; done").build());
        service.start(id);
        ContainerRecord r = service.status(id);
        Path log = Path.of(r.logPath());
        Thread.sleep(400);
        // kubelet checks the new file right after the call: reopen returns once conmon has made it
        for (int i = 0; i < 10; i++) {
            Path rotated = log.resolveSibling("rotated." + i + ".log");
            Files.move(log, rotated);
            service.reopenLog(id);
            assertTrue(Files.exists(log), "rotation " + i + ": the new log file exists when reopen returns");
        }
        Thread.sleep(300);
        assertFalse(log(service.status(id), "stdout").isEmpty());
        service.remove(id);
        assertThrows(BerthException.class, () -> service.reopenLog(id));
    }

    @Test
    void stopAndRemoveOfUnknownIdsSucceed() {
        for (String id : List.of("ab".repeat(32), "ffff", "Not-Hex", "../../etc")) {
            service.stop(id, 0);
            service.stop(id, 10);
            service.remove(id);
            assertEquals(ErrorKind.NOT_FOUND, assertThrows(BerthException.class, () -> service.status(id)).kind(),
                    id);
        }
    }

    /**
     * The "racy" runtime's kill first waits until the container has exited by itself, so runc
     * answers "container not running" while conmon may not have recorded the exit yet: what
     * happens when a container ends while StopContainer, StopPodSandbox or RemovePodSandbox stops it.
     */
    @Test
    void containerThatExitsWhileBeingStoppedStopsCleanly() throws Exception {
        String killed = service.create("racy-pod", cfg("racy-kill", "sh", "-c", "sleep 0.5; exit 5").build());
        service.start(killed);
        service.stop(killed, 0);
        ContainerRecord r = service.status(killed);
        assertEquals(Phase.EXITED, r.phase());
        assertEquals(5, r.exitCode(), "it ended by itself before the KILL");

        String graceful = service.create("racy-pod", cfg("racy-term", "sh", "-c", "sleep 0.5; exit 6").build());
        service.start(graceful);
        service.stop(graceful, 10);
        assertEquals(6, service.status(graceful).exitCode());

        String removed = service.create("racy-pod", cfg("racy-rm", "sh", "-c", "sleep 0.5").build());
        service.start(removed);
        service.remove(removed);
        assertEquals(ErrorKind.NOT_FOUND, assertThrows(BerthException.class, () -> service.status(removed)).kind());
        service.remove(killed);
        service.remove(graceful);
    }

    /** Status polled while containers exit always finds conmon's exit code, never "gone without one". */
    @Test
    void exitCodeIsNeverLostWhileStatusIsPolled() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(service.create("pod1", cfg("quick-" + i, "sh", "-c", "exit 3").build()));
        }
        for (String id : ids) {
            service.start(id);
            ContainerRecord r = awaitExitTightly(id);
            assertEquals(3, r.exitCode(), r.toString());
            assertEquals("Error", r.reason());
            assertEquals("", r.message(), r.toString());
            service.remove(id);
        }
    }

    private ContainerRecord awaitExitTightly(String id) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            ContainerRecord r = service.status(id);
            if (r.phase() == Phase.EXITED) {
                return r;
            }
        }
        throw new AssertionError("container " + id + " did not exit");
    }

    @Test
    void restartSafety() throws Exception {
        String running = service.create("pod1", cfg("survivor", "sleep", "1000").build());
        service.start(running);
        String dies = service.create("pod1", cfg("dies", "sleep", "1000").build());
        service.start(dies);
        int diesPid = service.status(dies).pid();
        // A create that was under way when the daemon died: record CREATING, rootfs mounted.
        ContainerRecord half = store.get(ContainerRecord.KIND, running, ContainerRecord.class).orElseThrow();
        String halfId = "ff".repeat(32);
        ContainerPaths hp = ContainerPaths.of(tmp.resolve("containers"), halfId);
        new RootFs(dev.berth.linux.host.LinuxHost.system().mounts()).mount(hp, List.of(tmp.resolve("image/rootfs")));
        store.put(ContainerRecord.KIND, halfId, new ContainerRecord(halfId, "pod1", "half", 0, "busybox",
                half.imageId(), half.imageRef(), Map.of(), Map.of(), Phase.CREATING, 1, 0, 0, 0, "", "", 0, "runc",
                podCgroup + "/berth-" + halfId, "", "SIGTERM", 0, 0, List.of(), half.config(), half.resources()));

        // Created by the runtime, but berth died before recording it: record CREATING, monitor gone,
        // the runtime's init process still waiting to be started.
        String orphan = service.create("pod1", cfg("orphan", "sleep", "1000").build());
        ContainerRecord orec = service.status(orphan);
        int orphanInit = orec.pid();
        new Conmon(TestFixtures.CONMON, tmp.resolve("run/exits"), tmp.resolve("run/attach"), dev.berth.linux.host.LinuxHost.system().processes()).monitorPid(ContainerPaths.of(tmp.resolve("containers"), orphan).persist())
                .ifPresent(p -> Processes.kill(p, Processes.SIGKILL));
        store.put(ContainerRecord.KIND, orphan, orec.withPhase(Phase.CREATING));

        // The daemon is gone (its objects dropped, nothing cleaned); meanwhile one container exits.
        service = null;
        Processes.kill(diesPid, Processes.SIGKILL);
        Thread.sleep(300);

        service = newService();
        assertEquals(2, service.recover());
        for (int i = 0; i < 100 && Processes.alive(orphanInit); i++) {
            Thread.sleep(20);
        }
        assertFalse(Processes.alive(orphanInit), "the half-created container's init process was killed");
        assertTrue(store.get(ContainerRecord.KIND, orphan, ContainerRecord.class).isEmpty());
        assertFalse(Files.exists(hp.dir()), "half-created container cleaned up");
        assertTrue(store.get(ContainerRecord.KIND, halfId, ContainerRecord.class).isEmpty());
        assertEquals(Phase.RUNNING, service.status(running).phase());
        ExecRunner.Result r = service.execSync(running, List.of("echo", "still here"), 10);
        assertEquals("still here\n", new String(r.stdout(), StandardCharsets.UTF_8));
        ContainerRecord dead = service.status(dies);
        assertEquals(Phase.EXITED, dead.phase());
        assertEquals(137, dead.exitCode());
        service.remove(running);
        service.remove(dies);
    }

    @Test
    void badInputGetsClearErrors() throws Exception {
        BerthException noPod = assertThrows(BerthException.class,
                () -> service.create("nopod", cfg("x", "true").build()));
        assertEquals(ErrorKind.NOT_FOUND, noPod.kind());
        BerthException noImage = assertThrows(BerthException.class, () -> service.create("pod1",
                cfg("x", "true").setImage(ImageSpec.newBuilder().setImage("absent:1")).build()));
        assertEquals(ErrorKind.NOT_FOUND, noImage.kind());
        assertTrue(noImage.getMessage().contains("absent:1"));
        BerthException escape = assertThrows(BerthException.class, () -> service.create("pod1",
                cfg("x", "true").setLogPath("../../../etc/evil.log").build()));
        assertEquals(ErrorKind.INVALID_ARGUMENT, escape.kind());
        BerthException missing = assertThrows(BerthException.class, () -> service.create("pod1",
                cfg("x", "true").addMounts(Mount.newBuilder().setContainerPath("/m")
                        .setHostPath(tmp.resolve("does-not-exist").toString()).setReadonly(true)).build()));
        assertEquals(ErrorKind.NOT_FOUND, missing.kind());
        BerthException handler = assertThrows(BerthException.class, () -> {
            pods.byId.put("pod-bad", TestFixtures.pod("pod-bad", tmp.resolve("pods/bad"), podCgroup, "kata"));
            service.create("pod-bad", cfg("x", "true").build());
        });
        assertEquals(ErrorKind.INVALID_ARGUMENT, handler.kind());
        String id = service.create("pod1", cfg("dup", "true").build());
        assertEquals(ErrorKind.ALREADY_EXISTS, assertThrows(BerthException.class,
                () -> service.create("pod1", cfg("dup", "true").build())).kind());
        service.remove(id);
        // Nothing of the failed creates is left behind.
        assertTrue(store.list(ContainerRecord.KIND, ContainerRecord.class).stream()
                .noneMatch(r -> r.name().equals("x")));
    }

    @Test
    void crunHandlerAndBindMounts() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(TestFixtures.CRUN), "no crun");
        pods.byId.put("pod-crun", TestFixtures.pod("pod-crun", tmp.resolve("pods/crun"), podCgroup, "crun"));
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Files.writeString(shared.resolve("in.txt"), "from host\n");
        String id;
        try {
            id = service.create("pod-crun", cfg("crun", "sh", "-c", "cat /mnt/in.txt; echo out > /mnt/out.txt")
                    .addMounts(Mount.newBuilder().setContainerPath("/mnt").setHostPath(shared.toString()))
                    .build());
        } catch (BerthException e) {
            // crun raises RLIMIT_MEMLOCK for its eBPF device filter, which needs CAP_SYS_RESOURCE.
            org.junit.jupiter.api.Assumptions.assumeFalse(e.getMessage().contains("RLIM_MEMLOCK"),
                    "crun cannot raise RLIMIT_MEMLOCK on this host: " + e.getMessage());
            throw e;
        }
        service.start(id);
        ContainerRecord r = awaitExit(id);
        assertEquals("crun", r.handler());
        assertEquals(0, r.exitCode());
        assertEquals(List.of("from host"), log(r, "stdout"));
        assertEquals("out\n", Files.readString(shared.resolve("out.txt")));
        service.remove(id);
    }
}
