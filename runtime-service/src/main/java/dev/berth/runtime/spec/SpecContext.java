package dev.berth.runtime.spec;

import dev.berth.image.LocalImage;
import dev.berth.runtime.oci.OciFeatures;
import dev.berth.runtime.sandbox.SandboxView;
import java.nio.file.Path;
import java.util.Set;
import runtime.v1.ContainerConfig;

/**
 * Everything the spec builders read: the CRI request, the pod, the image, and host facts.
 *
 * @param rootfs the mounted root filesystem on the host (user names are resolved from its /etc)
 * @param cgroupsPath absolute cgroup v2 path for the container
 * @param seccompDefaultProfile the RuntimeDefault profile (containers-common format)
 * @param minOomScoreAdj the daemon's own oom_score_adj: without CAP_SYS_RESOURCE nothing lower works
 * @param targetPidNamespace /proc/<pid>/ns/pid of the TARGET container when the PID mode is TARGET
 * @param runtimeFeatures what the pod's OCI runtime supports (recursive read-only mounts)
 * @param daemonCapabilities the capabilities the daemon holds: all a container can be given
 */
public record SpecContext(
        String containerId,
        ContainerConfig config,
        SandboxView sandbox,
        LocalImage image,
        Path rootfs,
        String cgroupsPath,
        Path seccompDefaultProfile,
        int minOomScoreAdj,
        boolean apparmorEnabled,
        Path targetPidNamespace,
        OciFeatures runtimeFeatures,
        Set<String> daemonCapabilities) {

    public runtime.v1.LinuxContainerSecurityContext security() {
        return config.getLinux().getSecurityContext();
    }
}
