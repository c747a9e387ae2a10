package dev.berth.conformance.bench;

import java.nio.file.Path;
import java.util.UUID;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;

/**
 * The pod and container the lifecycle benches run on both runtimes alike: busybox {@code sleep 3600}
 * in a PID namespace of the container's own, on the node's network (no CNI cost in container figures)
 * unless a bench asks for the pod's.
 */
final class BenchPods {
    static final NamespaceOption NODE_NETWORK = NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)
            .setPid(NamespaceMode.CONTAINER).build();

    private BenchPods() {}

    /** A pod with namespaces {@code ns}, named {@code name} in {@code namespace}, a fresh uid, its logs under {@code logDir}. */
    static PodSandboxConfig pod(String name, String namespace, Path logDir, NamespaceOption ns) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace(namespace)
                        .setUid(UUID.randomUUID().toString()))
                .setLogDirectory(logDir.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(
                        LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(ns)))
                .build();
    }

    /** Container "c" with namespaces {@code ns}, running {@code sleep 3600} from {@code image}, logging to c.log. */
    static ContainerConfig sleeper(String image, NamespaceOption ns) {
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName("c"))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addCommand("sleep").addCommand("3600")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(ns)))
                .setLogPath("c.log")
                .build();
    }
}
