package dev.berth.server.host;

import dev.berth.server.config.BerthConfig;
import java.io.IOException;
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

    /** Null when runtime prerequisites hold, else why not (one sentence per problem). */
    public static Optional<String> runtimeNotReady(BerthConfig config) {
        List<String> problems = new ArrayList<>();
        cgroupV2Problem(config.cgroupMount()).ifPresent(problems::add);
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
        return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems));
    }

    /**
     * berth is cgroup v2 only: the configured mount must be a cgroup2 filesystem. On a hybrid host
     * (v1 controllers at /sys/fs/cgroup) the README shows how to run berth in a private mount
     * namespace with cgroup2 mounted there.
     */
    public static Optional<String> cgroupV2Problem(Path mount) {
        try {
            // Mounts stack: the last entry for a mount point is the one a path lookup sees.
            String fstype = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // mountinfo: id parent major:minor root mountpoint options ... - fstype source superopts
                String[] halves = line.split(" - ", 2);
                String[] left = halves[0].split(" ");
                if (left.length > 4 && left[4].equals(mount.toString()) && halves.length == 2) {
                    fstype = halves[1].split(" ")[0];
                }
            }
            if (fstype == null) {
                return Optional.of("nothing is mounted at " + mount + ": berth needs cgroup2 mounted there");
            }
            if (fstype.equals("cgroup2")) {
                return Optional.empty();
            }
            return Optional.of(mount + " is " + fstype + ", not cgroup2: berth needs a cgroup v2 host "
                    + "(see README, 'Trying berth on a hybrid cgroup host')");
        } catch (IOException e) {
            return Optional.of("cannot read /proc/self/mountinfo: " + e.getMessage());
        }
    }
}
