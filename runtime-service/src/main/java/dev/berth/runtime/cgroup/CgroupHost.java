package dev.berth.runtime.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Whether this host gives berth what it needs: a cgroup v2 (unified) hierarchy mounted at the
 * configured mount point. Hybrid hosts (v1 controllers at /sys/fs/cgroup, v2 elsewhere) are not
 * supported; Status reports RuntimeReady false with {@link #notReadyReason()}.
 */
public final class CgroupHost {
    private final Path mount;
    private final Path mountinfo;

    public CgroupHost(Path mount) {
        this(mount, Path.of("/proc/self/mountinfo"));
    }

    /** For tests: a mountinfo file to read instead of the process's own. */
    public CgroupHost(Path mount, Path mountinfo) {
        this.mount = mount;
        this.mountinfo = mountinfo;
    }

    public Path mount() {
        return mount;
    }

    /** Empty when {@code mount} is a cgroup2 mount; otherwise a sentence saying what is wrong. */
    public Optional<String> notReadyReason() {
        List<String> lines;
        try {
            lines = Files.readAllLines(mountinfo);
        } catch (IOException e) {
            return Optional.of("cannot read " + mountinfo + " to check the cgroup mount: " + e.getMessage());
        }
        // mountinfo: id parent maj:min root mountpoint options [optional...] - fstype source superopts
        String fstype = null;
        for (String line : lines) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (f.length > 4 && dash > 0 && dash + 1 < f.length && unescape(f[4]).equals(mount.toString())) {
                fstype = f[dash + 1]; // the last mount on this point wins, as the kernel shows it
            }
        }
        if (fstype == null) {
            return Optional.of(mount + " is not a mount point: berth needs the cgroup v2 (unified) hierarchy "
                    + "mounted there (boot with systemd.unified_cgroup_hierarchy=1)");
        }
        if (!fstype.equals("cgroup2")) {
            return Optional.of(mount + " is " + fstype + ", not cgroup2: this host uses cgroup v1 or a hybrid "
                    + "layout and berth supports cgroup v2 only (boot with systemd.unified_cgroup_hierarchy=1, "
                    + "or run berth in a mount namespace with cgroup2 mounted at " + mount + ")");
        }
        return Optional.empty();
    }

    /** Controllers the root of the hierarchy offers (cgroup.controllers). */
    public Set<String> availableControllers() {
        try {
            String s = Files.readString(mount.resolve("cgroup.controllers")).strip();
            return s.isEmpty() ? Set.of() : new LinkedHashSet<>(List.of(s.split("\\s+")));
        } catch (IOException e) {
            return Set.of();
        }
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }
}
