package dev.berth.conformance.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import runtime.v1.ContainerFilter;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatus;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.ImageSpec;
import runtime.v1.Mount;
import runtime.v1.PullImageRequest;
import runtime.v1.ReopenContainerLogRequest;

/** The container contract against berth, plus what only berth promises (errors, restart safety). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BerthContainerTest extends ContainerContract implements ReadOnlyMountsAndGroupsContract {
    private LocalRegistry registry;
    private BerthDaemon daemon;
    private String image;
    private String groupsImage;

    @BeforeAll
    void start() throws Exception {
        dev.berth.conformance.ContainerHost.assumeReady();
        registry = LocalRegistry.start();
        image = TestImages.pushBusybox(registry, "library/busybox", "ctr").reference();
        groupsImage = TestImages.pushGroupsImage(registry, "library/groups", "ctr").reference();
        daemon = BerthDaemon.start();
        try {
            daemon.client().images().pullImage(PullImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(image)).build());
            daemon.client().images().pullImage(PullImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(groupsImage)).build());
            removePod(runPod("probe"));
        } catch (StatusRuntimeException e) {
            // Until the image and pod sides are merged in, berth answers UNIMPLEMENTED for them.
            assumeTrue(e.getStatus().getCode() != Status.Code.UNIMPLEMENTED, "berth lacks " + e.getMessage());
            throw e;
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (daemon != null) {
            // Even after a failed test: nothing of this daemon's may outlive it.
            try {
                for (String id : ids(ContainerFilter.getDefaultInstance())) {
                    remove(id);
                }
                for (var pod : cri().runtime().listPodSandbox(runtime.v1.ListPodSandboxRequest.getDefaultInstance())
                        .getItemsList()) {
                    removePod(pod.getId());
                }
            } catch (RuntimeException unreachable) {
                // the daemon is gone; the sweep below still ends its processes
            }
            String run = daemon.run().toString();
            List<String> ids = new ArrayList<>();
            try (var dirs = Files.list(daemon.root().resolve("containers"))) {
                dirs.forEach(d -> ids.add(d.getFileName().toString()));
            } catch (java.io.IOException none) {
                // no container was ever made
            }
            daemon.close();
            killCgroups(ids);
            for (String p : runtimeProcesses(Path.of(run))) {
                Commands.run("kill", "-9", p.substring(0, p.indexOf(' ')));
            }
            for (String pid : Commands.run("pgrep", "-f", "conmon.*" + run).output().strip().split("\\s+")) {
                if (!pid.isBlank()) {
                    Commands.run("kill", "-9", pid);
                }
            }
        }
        if (registry != null) {
            registry.close();
        }
    }

    @Override
    CriClient cri() {
        return daemon.client();
    }

    @Override
    String image() {
        return image;
    }

    @Override
    Path logRoot() {
        return daemon.base().resolve("pod-logs");
    }

    /** In the daemon's private mount namespace: a host mount made after it started would not reach it. */
    @Override
    public AutoCloseable tmpfsVisibleToRuntime(Path dir) {
        daemon.namespace().run("mount", "-t", "tmpfs", "tmpfs", dir.toString()).orThrow();
        return () -> daemon.namespace().run("umount", "-l", dir.toString()).orThrow();
    }

    @Override
    public String groupsImage() {
        return groupsImage;
    }

    @Test
    void badInputGetsClearStatuses() throws Exception {
        String pod = runPod("bad");
        try {
            assertEquals(Status.Code.NOT_FOUND, code(() -> create("0123abcd", container("x", "true").build())));
            StatusRuntimeException noImage = assertThrows(StatusRuntimeException.class, () -> create(pod,
                    container("x", "true").setImage(ImageSpec.newBuilder().setImage("127.0.0.1:1/none:1")).build()));
            assertEquals(Status.Code.NOT_FOUND, noImage.getStatus().getCode());
            assertTrue(noImage.getStatus().getDescription().contains("127.0.0.1:1/none:1"));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> create(pod,
                    container("x", "true").setLogPath("../../escape.log").build())));
            assertEquals(Status.Code.NOT_FOUND, code(() -> create(pod, container("x", "true")
                    .addMounts(Mount.newBuilder().setContainerPath("/m").setHostPath("/nonexistent/berth/path")
                            .setReadonly(true)).build())));
            assertEquals(Status.Code.NOT_FOUND, code(() -> status("00ff")));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> status("")));
            assertEquals(Status.Code.NOT_FOUND, code(() -> status("../../etc")));
            remove("ffff"); // removing an unknown container is fine
            String controllers = daemon.namespace().run("cat", "/sys/fs/cgroup/cgroup.controllers").output();
            if (!controllers.contains("memory")) {
                // This host's cgroup v2 view has no memory controller: a memory limit cannot be kept.
                StatusRuntimeException noCtl = assertThrows(StatusRuntimeException.class, () -> create(pod,
                        container("x", "true").setLinux(runtime.v1.LinuxContainerConfig.newBuilder()
                                .setResources(runtime.v1.LinuxContainerResources.newBuilder()
                                        .setMemoryLimitInBytes(64 << 20))).build()));
                assertEquals(Status.Code.FAILED_PRECONDITION, noCtl.getStatus().getCode());
                assertTrue(noCtl.getStatus().getDescription().contains("memory"), noCtl.getStatus().getDescription());
            }
            String id = create(pod, container("sleeper", "sleep", "100").build());
            start(id);
            StatusRuntimeException timeout = assertThrows(StatusRuntimeException.class,
                    () -> exec(id, 1, "sleep", "30"));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, timeout.getStatus().getCode());
            assertEquals(Status.Code.FAILED_PRECONDITION, code(() -> start(id)));
            remove(id);
            assertTrue(ids(ContainerFilter.newBuilder().setPodSandboxId(pod).build()).isEmpty(),
                    "failed creates leave nothing listed");
        } finally {
            removePod(pod);
        }
    }

    @Test
    void requestsThatWouldCrossThePodAreRefused() throws Exception {
        String pod = runPod("target-a");
        String other = runPod("target-b");
        try {
            String target = create(pod, container("target", "sleep", "100").build());
            start(target);
            runtime.v1.NamespaceOption targetNs = NAMESPACES.toBuilder().setPid(runtime.v1.NamespaceMode.TARGET)
                    .setTargetId(target).build();
            java.util.function.Function<runtime.v1.NamespaceOption, runtime.v1.ContainerConfig> joining =
                    ns -> container("debug", "true").setLinux(runtime.v1.LinuxContainerConfig.newBuilder()
                            .setSecurityContext(runtime.v1.LinuxContainerSecurityContext.newBuilder()
                                    .setNamespaceOptions(ns))).build();
            StatusRuntimeException crossPod = assertThrows(StatusRuntimeException.class,
                    () -> create(other, joining.apply(targetNs)));
            assertEquals(Status.Code.INVALID_ARGUMENT, crossPod.getStatus().getCode());
            assertTrue(crossPod.getStatus().getDescription().contains("another pod"),
                    crossPod.getStatus().getDescription());
            assertEquals(Status.Code.NOT_FOUND, code(() -> create(pod,
                    joining.apply(targetNs.toBuilder().setTargetId("ab".repeat(32)).build()))));
            String debug = create(pod, joining.apply(targetNs)); // the same pod: fine
            remove(debug);
            StatusRuntimeException privileged = assertThrows(StatusRuntimeException.class, () -> create(pod,
                    container("root", "true").setLinux(runtime.v1.LinuxContainerConfig.newBuilder()
                            .setSecurityContext(runtime.v1.LinuxContainerSecurityContext.newBuilder()
                                    .setNamespaceOptions(NAMESPACES).setPrivileged(true))).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, privileged.getStatus().getCode());
            assertTrue(privileged.getStatus().getDescription().contains("no privileged container allowed"),
                    privileged.getStatus().getDescription());
            assertTrue(ids(ContainerFilter.newBuilder().setPodSandboxId(other).build()).isEmpty(),
                    "refused creates leave nothing listed");
            remove(target);
        } finally {
            removePod(pod);
            removePod(other);
        }
    }

    @Test
    void monitorsAndTheInfraProcessLiveOutsideTheDaemonsCgroup() throws Exception {
        String daemonCgroup = cgroupOf(daemon.pid());
        Path logs = Files.createDirectories(logRoot().resolve("monitors-" + java.util.UUID.randomUUID()));
        runtime.v1.PodSandboxConfig cfg = runtime.v1.PodSandboxConfig.newBuilder()
                .setMetadata(runtime.v1.PodSandboxMetadata.newBuilder().setName("monitors").setNamespace("conformance")
                        .setUid(java.util.UUID.randomUUID().toString()))
                .setLogDirectory(logs.toString())
                .setLinux(runtime.v1.LinuxPodSandboxConfig.newBuilder().setSecurityContext(
                        runtime.v1.LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
                                NAMESPACES.toBuilder().setPid(runtime.v1.NamespaceMode.POD))))
                .build();
        String pod = cri().runtime().runPodSandbox(runtime.v1.RunPodSandboxRequest.newBuilder().setConfig(cfg).build())
                .getPodSandboxId();
        try {
            String id = create(pod, container("monitored", "sleep", "100").setLinux(
                    runtime.v1.LinuxContainerConfig.newBuilder().setSecurityContext(
                            runtime.v1.LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(
                                    NAMESPACES.toBuilder().setPid(runtime.v1.NamespaceMode.POD)))).build());
            start(id);
            List<Long> conmons = pidsWhoseArgs(List.of("-c", id), "conmon");
            assertEquals(1, conmons.size(), "one monitor for " + id + ": " + conmons);
            String conmon = cgroupOf(conmons.get(0));
            assertFalse(conmon.equals(daemonCgroup), "conmon is still in the daemon's cgroup " + daemonCgroup);
            assertTrue(conmon.endsWith("/berth-conmon"), "in the pod's monitor leaf: " + conmon);
            List<Long> infra = pidsWhoseArgs(List.of("berth-infra-" + pod), null);
            assertEquals(2, infra.size(), "the infra's unshare and its init: " + infra);
            for (long p : infra) {
                String c = cgroupOf(p);
                assertTrue(c.endsWith("/berth-infra") && !c.equals(daemonCgroup), "infra " + p + " in " + c);
            }
            assertEquals(conmon.substring(0, conmon.lastIndexOf('/')),
                    cgroupOf(infra.get(0)).substring(0, cgroupOf(infra.get(0)).lastIndexOf('/')),
                    "both leaves of the same pod cgroup, absolute in the v2 hierarchy");
            remove(id);
        } finally {
            removePod(pod);
        }
    }

    /** The "0::" line of /proc/<pid>/cgroup. */
    private static String cgroupOf(long pid) throws java.io.IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream().filter(l -> l.startsWith("0::"))
                .map(l -> l.substring(3)).findFirst().orElseThrow();
    }

    /** Pids whose argument list holds {@code args} in a row (and whose command is {@code comm}, if given). */
    private static List<Long> pidsWhoseArgs(List<String> args, String comm) throws java.io.IOException {
        List<Long> out = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                String n = p.getFileName().toString();
                if (!n.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    List<String> argv = List.of(new String(Files.readAllBytes(p.resolve("cmdline")),
                            java.nio.charset.StandardCharsets.UTF_8).split("\0"));
                    if (java.util.Collections.indexOfSubList(argv, args) >= 0
                            && (comm == null || Files.readString(p.resolve("comm")).strip().equals(comm))) {
                        out.add(Long.parseLong(n));
                    }
                } catch (java.io.IOException gone) {
                    // ended meanwhile
                }
            }
        }
        return out;
    }

    @Test
    void skipMissingControllersRunsWithoutTheLimit() throws Exception {
        String controllers = daemon.namespace().run("cat", "/sys/fs/cgroup/cgroup.controllers").output();
        assumeTrue(!controllers.contains("memory"), "the host has a memory controller: nothing to skip");
        BerthDaemon skipping = BerthDaemon.start(java.util.Map.of("BERTH_CGROUP_SKIP_MISSING_CONTROLLERS", "true"));
        BerthDaemon main = daemon;
        daemon = skipping;
        try {
            cri().images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image))
                    .build());
            String pod = runPod("skip");
            String id = create(pod, container("limited", "sh", "-c", "echo ran").setLinux(
                    runtime.v1.LinuxContainerConfig.newBuilder().setSecurityContext(
                            runtime.v1.LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(NAMESPACES))
                            .setResources(runtime.v1.LinuxContainerResources.newBuilder()
                                    .setMemoryLimitInBytes(64 << 20))).build());
            start(id);
            ContainerStatus s = awaitExit(id);
            assertEquals(0, s.getExitCode());
            assertEquals(64 << 20, s.getResources().getLinux().getMemoryLimitInBytes(), "the request is reported");
            assertTrue(skipping.logText().contains("memory"), "the skip is logged");
            String runtimeInfo = cri().runtime().status(runtime.v1.StatusRequest.newBuilder().setVerbose(true).build())
                    .getInfoOrThrow("runtime");
            assertTrue(runtimeInfo.contains("limits skipped") && runtimeInfo.contains("memory"),
                    "Status says which limits are skipped: " + runtimeInfo);
            removePod(pod);
        } finally {
            daemon = main;
            skipping.close();
        }
    }

    @Test
    void verboseStatusAndLogReopen() throws Exception {
        String pod = runPod("verbose");
        try {
            String id = create(pod, container("ticker", "sh", "-c",
                    "while true; do echo tick; sleep 0.1; done").build());
            start(id);
            var resp = cri().runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id)
                    .setVerbose(true).build());
            String info = resp.getInfoOrThrow("info");
            assertTrue(info.contains("\"runtimeSpec\"") && info.contains("\"pid\""), info);
            assertEquals(image, resp.getStatus().getImage().getImage());
            assertTrue(resp.getStatus().getImageRef().contains("sha256:"));
            Path log = Path.of(resp.getStatus().getLogPath());
            Thread.sleep(300);
            Files.move(log, log.resolveSibling("rotated.log"));
            cri().runtime().reopenContainerLog(ReopenContainerLogRequest.newBuilder().setContainerId(id).build());
            Thread.sleep(500);
            assertTrue(Files.size(log) > 0, "new log file written after reopen");
            remove(id);
        } finally {
            removePod(pod);
        }
    }

    /** Processes a runtime started for this daemon (runc init carries its state directory in its environment). */
    static List<String> runtimeProcesses(Path run) throws Exception {
        List<String> out = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String env = new String(Files.readAllBytes(p.resolve("environ")));
                    if (env.contains("_LIBCONTAINER_STATEDIR=" + run)) {
                        out.add(p.getFileName() + " " + new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' '));
                    }
                } catch (java.io.IOException gone) {
                    // exited
                }
            }
        }
        return out;
    }

    /** Kills whatever still runs in the cgroups of these containers (host view of cgroup v2). */
    static void killCgroups(List<String> ids) throws Exception {
        Path v2 = Files.exists(Path.of("/sys/fs/cgroup/unified/cgroup.procs")) ? Path.of("/sys/fs/cgroup/unified")
                : Path.of("/sys/fs/cgroup");
        if (ids.isEmpty()) {
            return;
        }
        try (var walk = Files.walk(v2, 5)) {
            for (Path d : walk.filter(Files::isDirectory).toList()) {
                String n = d.getFileName() == null ? "" : d.getFileName().toString();
                if (n.startsWith("berth-") && ids.contains(n.substring(6)) && Files.exists(d.resolve("cgroup.kill"))) {
                    Files.writeString(d.resolve("cgroup.kill"), "1");
                }
            }
        }
    }

    private static String tail(String s) {
        return s.length() > 8000 ? s.substring(s.length() - 8000) : s;
    }

    @Test
    void containersSurviveKill9AndHalfCreatedOnesAreCleanedUp() throws Exception {
        String pod = runPod("restart");
        try {
            String survivor = create(pod, container("survivor", "sleep", "1000").build());
            start(survivor);
            String dies = create(pod, container("dies", "sh", "-c", "sleep 1; exit 7").build());
            start(dies);
            // Creates in flight while the daemon is killed.
            AtomicInteger made = new AtomicInteger();
            List<Thread> creators = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int n = t;
                creators.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < 20; i++) {
                        try {
                            create(pod, container("flood-" + n + "-" + i, "sleep", "1000").build());
                            made.incrementAndGet();
                        } catch (RuntimeException e) {
                            return; // the daemon went away
                        }
                    }
                }));
            }
            Thread.sleep(400);
            daemon.kill9();
            for (Thread t : creators) {
                t.join(30_000);
            }
            Thread.sleep(1500); // "dies" exits while berth is down
            daemon.restart();

            ContainerStatus s = status(survivor);
            assertEquals(ContainerState.CONTAINER_RUNNING, s.getState());
            assertEquals("alive\n", exec(survivor, 10, "echo", "alive").getStdout().toStringUtf8());
            ContainerStatus d = status(dies);
            assertEquals(ContainerState.CONTAINER_EXITED, d.getState());
            assertEquals(7, d.getExitCode());
            List<String> listed = ids(ContainerFilter.newBuilder().setPodSandboxId(pod).build());
            assertTrue(listed.size() >= 2 + made.get(), "every acknowledged create is still there");
            // Every overlay mount belongs to a listed container; nothing half-made is left mounted.
            Path containers = daemon.root().resolve("containers");
            List<String> mounts = daemon.namespace().mountsUnder(containers);
            for (String m : mounts) {
                String id = containers.relativize(Path.of(m)).getName(0).toString();
                assertTrue(listed.contains(id), "mount of unlisted container " + m);
            }
            try (var dirs = Files.list(containers)) {
                for (Path dir : dirs.toList()) {
                    assertTrue(listed.contains(dir.getFileName().toString()), "files of unlisted " + dir);
                }
            }
            for (String id : listed) {
                remove(id);
            }
            assertTrue(daemon.namespace().mountsUnder(containers).isEmpty());
            String conmons = Commands.run("pgrep", "-f", "conmon.*" + daemon.run()).output().strip();
            assertTrue(conmons.isEmpty(), "no monitors left: " + conmons);
            assertEquals(List.of(), runtimeProcesses(daemon.run()), "no container process left");
            removePod(pod);
        } catch (Throwable t) {
            throw new AssertionError(t + "\n--- daemon log ---\n" + tail(daemon.logText()), t);
        }
    }
}
