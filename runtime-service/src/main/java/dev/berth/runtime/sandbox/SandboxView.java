package dev.berth.runtime.sandbox;

import java.nio.file.Path;
import runtime.v1.PodSandboxConfig;

/**
 * What a container needs to know about its pod: the namespaces to join, the files to mount and
 * the cgroup to live under. Paths are absolute host paths; a null namespace path means the
 * container uses the host's namespace of that kind (NODE mode) or, for PID, gets its own
 * (CONTAINER mode).
 *
 * @param cgroupPath the pod cgroup, absolute within the cgroup v2 hierarchy ("/kubepods/pod-x")
 * @param pidNamespacePath the shared PID namespace ({@code /proc/<infra>/ns/pid}) when the pod
 *     asked for POD mode
 * @param userNamespacePath the pod's pinned user namespace (userns mode POD), else null: the host's
 */
public record SandboxView(
        String id,
        PodSandboxConfig config,
        boolean ready,
        String runtimeHandler,
        Path netNamespacePath,
        Path ipcNamespacePath,
        Path utsNamespacePath,
        Path pidNamespacePath,
        String cgroupPath,
        Path hostsFile,
        Path resolvConfFile,
        Path hostnameFile,
        Path shmPath,
        Path userNamespacePath) {

    /** A pod in the host's user namespace. */
    public SandboxView(String id, PodSandboxConfig config, boolean ready, String runtimeHandler,
            Path netNamespacePath, Path ipcNamespacePath, Path utsNamespacePath, Path pidNamespacePath,
            String cgroupPath, Path hostsFile, Path resolvConfFile, Path hostnameFile, Path shmPath) {
        this(id, config, ready, runtimeHandler, netNamespacePath, ipcNamespacePath, utsNamespacePath,
                pidNamespacePath, cgroupPath, hostsFile, resolvConfFile, hostnameFile, shmPath, null);
    }
}
