package dev.berth.runtime.checkpoint;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.cgroup.CgroupManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * runc 1.1 has CRIU bring a restored process tree back into the cgroup it was dumped from (the
 * checkpointed container's, recreated if gone), not the new container's. This moves the tree into
 * the new container's cgroup, where its limits, stats and cleanup are, and removes the old one.
 */
public final class RestoredCgroup {
    private RestoredCgroup() {}

    /** Moves the processes of {@code pid}'s cgroup into {@code cgroup} when they differ. */
    public static void adopt(CgroupManager cgroups, int pid, String cgroup) {
        String current;
        try {
            current = Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream()
                    .filter(l -> l.startsWith("0::")).map(l -> l.substring(3)).findFirst().orElse(cgroup);
        } catch (IOException e) {
            throw BerthException.internal("restored process " + pid + " is gone: " + e.getMessage(), e);
        }
        if (current.equals(cgroup)) {
            return;
        }
        Path from = cgroups.dir(current).resolve("cgroup.procs");
        Path to = cgroups.dir(cgroup).resolve("cgroup.procs");
        // A process may fork while being moved: repeat until the old cgroup is empty.
        for (int pass = 0; pass < 50; pass++) {
            List<String> procs;
            try {
                procs = Files.readAllLines(from).stream().filter(s -> !s.isBlank()).toList();
            } catch (IOException e) {
                throw BerthException.internal("cannot list " + from + ": " + e.getMessage(), e);
            }
            if (procs.isEmpty()) {
                break;
            }
            for (String p : procs) {
                try {
                    Files.writeString(to, p);
                } catch (NoSuchFileException gone) {
                    throw BerthException.internal("cgroup " + cgroup + " of the restored container is gone", gone);
                } catch (IOException e) {
                    // the process exited meanwhile (ESRCH); the next pass shows what is left
                }
            }
        }
        try {
            cgroups.remove(current);
        } catch (BerthException e) {
            // an empty leftover cgroup is harmless; the pod cgroup's removal reports it if not
        }
    }
}
