package dev.berth.conformance.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerFilter;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatus;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.IDMapping;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.Mount;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeHandler;
import runtime.v1.StartContainerRequest;
import runtime.v1.StatusRequest;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.UserNamespace;

/**
 * User namespaces through CRI against a started daemon: pods with userns mode POD (root mapped to
 * an unprivileged host range, containers sharing the pod's namespace, idmapped root filesystem and
 * volumes), mode NODE, the requests berth must refuse, and the Status feature critest looks for.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UserNamespaceTest {
    private static final long HOST_ID = 300_000;
    private static final int LENGTH = 65536;

    private LocalRegistry registry;
    private BerthDaemon daemon;
    private String image;

    @BeforeAll
    void start() throws Exception {
        dev.berth.conformance.ContainerHost.assumeReady();
        registry = LocalRegistry.start();
        image = TestImages.pushBusybox(registry, "library/busybox", "userns").reference();
        daemon = BerthDaemon.start();
        cri().images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image))
                .build());
    }

    @AfterAll
    void stop() throws Exception {
        if (daemon != null) {
            try {
                for (var c : cri().runtime().listContainers(ListContainersRequest.getDefaultInstance())
                        .getContainersList()) {
                    cri().runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(c.getId())
                            .build());
                }
                for (var pod : cri().runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
                        .getItemsList()) {
                    removePod(pod.getId());
                }
            } catch (RuntimeException unreachable) {
                // the daemon is gone; the sweep below still ends its processes
            }
            Path run = daemon.run();
            List<String> ids = new ArrayList<>();
            try (var dirs = Files.list(daemon.root().resolve("containers"))) {
                dirs.forEach(d -> ids.add(d.getFileName().toString()));
            } catch (IOException none) {
                // no container was ever made
            }
            daemon.close();
            BerthContainerTest.killCgroups(ids);
            for (String p : BerthContainerTest.runtimeProcesses(run)) {
                Commands.run("kill", "-9", p.substring(0, p.indexOf(' ')));
            }
        }
        if (registry != null) {
            registry.close();
        }
    }

    private CriClient cri() {
        return daemon.client();
    }

    private static UserNamespace podUserns(long hostId) {
        IDMapping m = IDMapping.newBuilder().setContainerId(0).setHostId((int) hostId).setLength(LENGTH).build();
        return UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(m).addGids(m).build();
    }

    private static NamespaceOption namespaces(UserNamespace userns) {
        // as kubelet sends them for hostUsers: false (own network, IPC and PID namespaces)
        return NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD).setIpc(NamespaceMode.POD)
                .setPid(NamespaceMode.CONTAINER).setUsernsOptions(userns).build();
    }

    private PodSandboxConfig podConfig(String name, NamespaceOption ns) throws IOException {
        Path logs = Files.createDirectories(daemon.base().resolve("pod-logs").resolve(name + "-" + UUID.randomUUID()));
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("userns")
                        .setUid(UUID.randomUUID().toString()))
                .setHostname(name)
                .setLogDirectory(logs.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext
                        .newBuilder().setNamespaceOptions(ns)))
                .build();
    }

    private String runPod(PodSandboxConfig cfg) {
        return cri().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(cfg).build())
                .getPodSandboxId();
    }

    private void removePod(String id) {
        cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
        cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
    }

    private ContainerConfig.Builder container(String name, NamespaceOption ns, String script) {
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addAllCommand(List.of("sh", "-c", script))
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(ns)))
                .setLogPath(name + ".log");
    }

    private String create(String pod, PodSandboxConfig podCfg, ContainerConfig c) {
        String id = cri().runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                .setConfig(c).setSandboxConfig(podCfg).build()).getContainerId();
        cri().runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    private ContainerStatus awaitExit(String id) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            ContainerStatus s = cri().runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id)
                    .build()).getStatus();
            if (s.getState() == ContainerState.CONTAINER_EXITED) {
                return s;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("container " + id + " did not exit");
    }

    private String exec(String id, String... cmd) {
        ExecSyncResponse r = cri().runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id)
                .addAllCmd(List.of(cmd)).setTimeout(10).build());
        assertEquals(0, r.getExitCode(), r.getStderr().toStringUtf8());
        return r.getStdout().toStringUtf8().strip();
    }

    /** The stdout lines of a CRI log file. */
    private static List<String> stdout(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            String[] f = line.split(" ", 4);
            if (f.length == 4 && f[1].equals("stdout")) {
                out.add(f[3]);
            }
        }
        return out;
    }

    private static List<String> fields(String line) {
        return List.of(line.strip().split("\\s+"));
    }

    @Test
    void statusReportsUserNamespacesPerHandler() {
        List<RuntimeHandler> handlers = cri().runtime().status(StatusRequest.getDefaultInstance())
                .getRuntimeHandlersList();
        assertTrue(handlers.stream().anyMatch(h -> h.getName().isEmpty()),
                "the default handler is listed as \"\", where critest and kubelet look: " + handlers);
        assertTrue(handlers.stream().anyMatch(h -> h.getName().equals("runc")), handlers.toString());
        for (RuntimeHandler h : handlers) {
            // this host (Linux 6.18 on ext4) has user namespaces and idmapped mounts
            assertTrue(h.getFeatures().getUserNamespaces(), "handler " + h.getName() + ": " + h);
        }
    }

    @Test
    void podModeMapsRootAndSharesOneUserNamespace() throws Exception {
        NamespaceOption ns = namespaces(podUserns(HOST_ID));
        PodSandboxConfig cfg = podConfig("userns-pod", ns);
        String pod = runPod(cfg);
        try {
            assertEquals(ns.getUsernsOptions(), cri().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                    .setPodSandboxId(pod).build()).getStatus().getLinux().getNamespaces().getOptions()
                    .getUsernsOptions(), "PodSandboxStatus echoes the user namespace options");
            Path volume = Files.createDirectories(daemon.base().resolve("userns-volume-" + UUID.randomUUID()));
            Files.writeString(volume.resolve("from-host"), "host\n");
            String script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u:%g / /bin/busybox; "
                    + "stat -c %u:%g /vol/from-host; touch /vol/from-container /made-here; hostname; "
                    + "mount | grep -c ' /sys type sysfs' ; echo done";
            String id = create(pod, cfg, container("reader", ns, script).addMounts(Mount.newBuilder()
                    .setContainerPath("/vol").setHostPath(volume.toString())).build());
            ContainerStatus s = awaitExit(id);
            List<String> out = stdout(Path.of(cfg.getLogDirectory(), "reader.log"));
            assertEquals(0, s.getExitCode(), "output: " + out + "\n" + daemon.logText());
            assertEquals(List.of("0", Long.toString(HOST_ID), Integer.toString(LENGTH)), fields(out.get(0)),
                    "uid_map: " + out);
            assertEquals(List.of("0", Long.toString(HOST_ID), Integer.toString(LENGTH)), fields(out.get(1)),
                    "gid_map: " + out);
            assertEquals("0", out.get(2), "the process is root inside");
            assertEquals("0:0", out.get(3), "the root directory belongs to container root: " + out);
            assertEquals("0:0", out.get(4), "image files (idmapped layers) belong to container root: " + out);
            assertEquals("0:0", out.get(5), "a host root file in a volume belongs to container root: " + out);
            assertEquals("userns-pod", out.get(6), "the hostname is set in the pod's UTS namespace");
            assertEquals("1", out.get(7), "sysfs mounts: the network namespace is owned by the pod's user namespace");
            assertEquals("done", out.get(8));
            // seen from the host: the volume keeps host ownership, the writable layer holds the mapped ids
            assertEquals(0, Files.getAttribute(volume.resolve("from-container"), "unix:uid"));
            Path upper = daemon.root().resolve("containers").resolve(id).resolve("upper");
            assertEquals((int) HOST_ID, Files.getAttribute(upper.resolve("made-here"), "unix:uid"));
            assertEquals((int) HOST_ID, Files.getAttribute(upper, "unix:uid"));

            // two long-running containers: exec sees the mapping, and both are in one user namespace
            String a = create(pod, cfg, container("a", ns, "sleep 300").build());
            String b = create(pod, cfg, container("b", ns, "sleep 300").build());
            assertEquals(List.of("0", Long.toString(HOST_ID), Integer.toString(LENGTH)),
                    fields(exec(a, "cat", "/proc/self/uid_map")));
            String nsA = exec(a, "readlink", "/proc/self/ns/user");
            assertTrue(nsA.startsWith("user:["), nsA);
            assertEquals(nsA, exec(b, "readlink", "/proc/self/ns/user"), "containers share the pod's user namespace");
            assertEquals(exec(a, "readlink", "/proc/self/ns/net"), exec(b, "readlink", "/proc/self/ns/net"));
            for (String c : List.of(a, b)) {
                cri().runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(c).build());
            }
        } finally {
            removePod(pod);
        }
        assertFalse(Files.exists(daemon.run().resolve("pods").resolve(pod)), "the pod's namespaces are unpinned");
    }

    @Test
    void sharedPidNamespaceLivesInThePodsUserNamespace() throws Exception {
        NamespaceOption ns = namespaces(podUserns(HOST_ID + LENGTH)).toBuilder().setPid(NamespaceMode.POD).build();
        PodSandboxConfig cfg = podConfig("userns-pid", ns);
        String pod = runPod(cfg);
        try {
            String id = create(pod, cfg, container("ps", ns, "cat /proc/self/uid_map; cat /proc/1/cmdline | tr '\\0' ' '")
                    .build());
            ContainerStatus s = awaitExit(id);
            List<String> out = stdout(Path.of(cfg.getLogDirectory(), "ps.log"));
            assertEquals(0, s.getExitCode(), "output: " + out + "\n" + daemon.logText());
            assertEquals(Long.toString(HOST_ID + LENGTH), fields(out.get(0)).get(1));
            assertTrue(out.get(1).contains("berth-infra-" + pod), "PID 1 is the pod's infra: " + out);
        } finally {
            removePod(pod);
        }
    }

    @Test
    void nodeModeKeepsTheHostUserNamespace() throws Exception {
        NamespaceOption ns = namespaces(UserNamespace.newBuilder().setMode(NamespaceMode.NODE).build());
        PodSandboxConfig cfg = podConfig("userns-node", ns);
        String pod = runPod(cfg);
        try {
            String id = create(pod, cfg, container("reader", ns, "cat /proc/self/uid_map").build());
            ContainerStatus s = awaitExit(id);
            assertEquals(0, s.getExitCode());
            List<String> out = stdout(Path.of(cfg.getLogDirectory(), "reader.log"));
            assertEquals(fields(Files.readString(Path.of("/proc/self/uid_map"))), fields(out.get(0)));
        } finally {
            removePod(pod);
        }
    }

    private void assertRejected(NamespaceOption ns, String... words) throws IOException {
        PodSandboxConfig cfg = podConfig("userns-bad", ns);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> runPod(cfg));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getMessage());
        for (String w : words) {
            assertTrue(e.getStatus().getDescription().contains(w), e.getStatus().getDescription());
        }
        assertTrue(cri().runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList().stream()
                .noneMatch(p -> p.getMetadata().getUid().equals(cfg.getMetadata().getUid())), "no pod is left");
    }

    @Test
    void invalidRequestsAreRejected() throws Exception {
        IDMapping m = IDMapping.newBuilder().setContainerId(0).setHostId(1000).setLength(100000).build();
        IDMapping other = m.toBuilder().setHostId(200000).build();
        assertRejected(namespaces(UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(m).addUids(other)
                .addGids(m).addGids(other).build()), "exactly one uid mapping", "got 2");
        IDMapping notRoot = m.toBuilder().setContainerId(1).build();
        assertRejected(namespaces(UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(notRoot)
                .addGids(notRoot).build()), "container uid 0 (root) unmapped");
        assertRejected(namespaces(UserNamespace.newBuilder().setMode(NamespaceMode.CONTAINER).build()),
                "mode CONTAINER is not supported");
        assertRejected(namespaces(UserNamespace.newBuilder().setMode(NamespaceMode.TARGET).build()),
                "mode TARGET is not supported");
        assertRejected(namespaces(UserNamespace.newBuilder().setMode(NamespaceMode.NODE).addUids(m).addGids(m)
                .build()), "mode NODE takes no id mappings");
        assertRejected(namespaces(UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(m).build()),
                "one gid mapping, got none");
        assertRejected(namespaces(podUserns(HOST_ID)).toBuilder().setNetwork(NamespaceMode.NODE).build(),
                "node's network namespace");

        // a container may not leave its pod's user namespace
        NamespaceOption ns = namespaces(podUserns(HOST_ID));
        PodSandboxConfig cfg = podConfig("userns-mismatch", ns);
        String pod = runPod(cfg);
        try {
            NamespaceOption nodeNs = ns.toBuilder().setUsernsOptions(UserNamespace.newBuilder()
                    .setMode(NamespaceMode.NODE)).build();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> create(pod, cfg, container("escape", nodeNs, "true").build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("differs from its pod's"), e.getMessage());
            assertTrue(cri().runtime().listContainers(ListContainersRequest.newBuilder().setFilter(
                    ContainerFilter.newBuilder().setPodSandboxId(pod)).build()).getContainersList().isEmpty());
        } finally {
            removePod(pod);
        }
    }
}
