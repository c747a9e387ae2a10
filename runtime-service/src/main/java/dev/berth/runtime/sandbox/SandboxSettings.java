package dev.berth.runtime.sandbox;

import java.nio.file.Path;
import java.util.Set;

/**
 * What the sandbox side needs from configuration.
 *
 * @param runDir where pinned namespaces and pod files live ({@code <run>/pods/<id>})
 * @param cgroupMount the cgroup v2 mount point; pod cgroups are absolute paths below it
 * @param runtimeHandlers handler names the daemon knows (RunPodSandbox rejects others)
 * @param defaultHandler the handler used when the request names none
 */
public record SandboxSettings(Path runDir, Path cgroupMount, Set<String> runtimeHandlers, String defaultHandler) {}
