package dev.berth.server.host;

import dev.berth.server.config.BerthConfig;
import dev.berth.runtime.cgroup.CgroupHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the runtime needs from the host to run containers, checked live for Status and readiness:
 * a cgroup v2 hierarchy at the configured mount, usable runtime binaries and writable state dirs.
 */
public final class HostChecks {
    private HostChecks() {}

    /** Empty when runtime prerequisites hold (RuntimeReady), else why not (one sentence per problem). */
    public static Optional<String> runtimeNotReady(BerthConfig config) {
        List<String> problems = new ArrayList<>();
        cgroupV2Problem(config.cgroupMount()).ifPresent(problems::add);
        problems.addAll(toolsAndStateProblems(config));
        return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems));
    }

    /**
     * What readiness and RuntimeReady both need: the default OCI runtime and conmon executable, the
     * state and run roots writable directories.
     */
    public static List<String> toolsAndStateProblems(BerthConfig config) {
        List<String> problems = new ArrayList<>();
        Path runtime = config.runtimes().get(config.defaultHandler());
        if (runtime == null || !Files.isExecutable(runtime)) {
            problems.add("default OCI runtime " + config.defaultHandler() + " is not executable at " + runtime);
        }
        if (!Files.isExecutable(config.conmon())) {
            problems.add("conmon is not executable at " + config.conmon());
        }
        for (Path dir : List.of(config.root(), config.run())) {
            if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
                problems.add("state directory " + dir + " is not a writable directory");
            }
        }
        return problems;
    }

    /** berth is cgroup v2 only: the configured mount must be a cgroup2 filesystem. */
    public static Optional<String> cgroupV2Problem(Path mount) {
        return new CgroupHost(mount).notReadyReason();
    }
}
