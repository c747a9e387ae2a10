package dev.berth.conformance.wholecri;


import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * One berth daemon with a pulled busybox image, pods on the daemon's own bridge (or the host
 * network) under a cgroup parent named for the test class, containers, and a teardown that
 * removes every pod and container and kills what their cgroups still hold.
 */
final class WholeCriFixture implements AutoCloseable {
    final LocalRegistry registry;
    final BerthDaemon daemon;
    final String image;
    final String cgroupTop;

    private WholeCriFixture(LocalRegistry registry, BerthDaemon daemon, String image, String cgroupTop) {
        this.registry = registry;
        this.daemon = daemon;
        this.image = image;
        this.cgroupTop = cgroupTop;
    }

    /** Skips the calling test class where root, a registry or busybox are missing. */
    static WholeCriFixture start(String name) throws Exception {
        return start(name, Map.of());
    }

    /** With extra daemon environment (BERTH_* keys). */
    static WholeCriFixture start(String name, Map<String, String> env) throws Exception {
        dev.berth.conformance.ContainerHost.assumeReady();
        LocalRegistry registry = LocalRegistry.start();
        BerthDaemon daemon = null;
        try {
            String image = TestImages.pushBusybox(registry, "library/busybox", name).reference();
            daemon = BerthDaemon.start(env);
            daemon.client().images().pullImage(PullImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(image)).build());
            return new WholeCriFixture(registry, daemon, image, "berth-" + name + "-" + daemon.httpPort());
        } catch (Exception | Error e) {
            if (daemon != null) {
                daemon.close();
            }
            registry.close();
            throw e;
        }
    }

    RuntimeServiceGrpc.RuntimeServiceBlockingStub rt() {
        return daemon.client().runtime();
    }

    record Pod(String id, PodSandboxConfig config, NamespaceOption ns) {}

    /** A pod with its own network namespace on the daemon's bridge, or the host's network. */
    Pod pod(String name, boolean hostNetwork, Map<String, String> labels) throws Exception {
        NamespaceOption ns = NamespaceOption.newBuilder()
                .setNetwork(hostNetwork ? NamespaceMode.NODE : NamespaceMode.POD).setPid(NamespaceMode.CONTAINER)
                .setIpc(NamespaceMode.POD).build();
        Path logs = Files.createDirectories(daemon.base().resolve("pod-logs").resolve(name));
        PodSandboxConfig config = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("wholecri")
                        .setUid("u-" + name))
                .setLogDirectory(logs.toString())
                .putAllLabels(labels)
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/" + cgroupTop + "/" + name)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(ns)))
                .build();
        String id = rt().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
                .getPodSandboxId();
        return new Pod(id, config, ns);
    }

    ContainerConfig.Builder config(Pod pod, String name, String script) {
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addAllCommand(List.of("sh", "-c", script))
                .setLogPath(name + ".log")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(pod.ns())));
    }

    String create(Pod pod, ContainerConfig config) {
        return rt().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod.id())
                .setSandboxConfig(pod.config()).setConfig(config).build()).getContainerId();
    }

    String create(Pod pod, String name, String script) {
        return create(pod, config(pod, name, script).build());
    }

    void startContainer(String id) {
        rt().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    }

    String run(Pod pod, String name, String script) {
        String id = create(pod, name, script);
        startContainer(id);
        return id;
    }

    String exec(String container, String... cmd) {
        ExecSyncResponse r = rt().execSync(ExecSyncRequest.newBuilder().setContainerId(container)
                .addAllCmd(List.of(cmd)).setTimeout(20).build());
        return r.getStdout().toStringUtf8() + r.getStderr().toStringUtf8();
    }

    void removeContainer(String id) {
        rt().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    }

    void removePod(String id) {
        rt().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
        rt().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
    }

    /** Removes every container (four at a time: a test may leave hundreds) and every pod. */
    void removeAll() {
        var ids = new java.util.concurrent.ConcurrentLinkedQueue<String>();
        rt().listContainers(ListContainersRequest.getDefaultInstance()).getContainersList()
                .forEach(c -> ids.add(c.getId()));
        List<Thread> removers = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
            removers.add(Thread.ofVirtual().start(() -> {
                for (String id = ids.poll(); id != null; id = ids.poll()) {
                    removeContainer(id);
                }
            }));
        }
        for (Thread t : removers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        for (var p : rt().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
            removePod(p.getId());
        }
    }

    /** Text of a file of the daemon's cgroup v2 view (it runs with cgroup2 at /sys/fs/cgroup). */
    String cgroupFile(String cgroup, String file) {
        return daemon.namespace().run("cat", "/sys/fs/cgroup" + cgroup + "/" + file).output().strip();
    }

    boolean hasController(String c) {
        return List.of(daemon.namespace().run("cat", "/sys/fs/cgroup/cgroup.controllers").output().strip()
                .split("\\s+")).contains(c);
    }

    @Override
    public void close() {
        try {
            removeAll();
        } catch (RuntimeException unreachable) {
            // the daemon may be gone; the cgroup sweep below still ends what it started
        }
        daemon.namespace().run("sh", "-c", "for d in $(find /sys/fs/cgroup/" + cgroupTop
                + " -depth -type d 2>/dev/null); do [ -f $d/cgroup.kill ] && echo 1 > $d/cgroup.kill; "
                + "rmdir $d 2>/dev/null; done; true");
        daemon.close();
        registry.close();
    }
}
