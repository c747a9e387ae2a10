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
        Path shmPath) {}
