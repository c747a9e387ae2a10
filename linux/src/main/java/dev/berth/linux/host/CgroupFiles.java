package dev.berth.linux.host;

import java.nio.file.Path;
import java.util.List;

/**
 * Directories and files of one cgroup v2 hierarchy. Paths are relative to its mount point, with or
 * without a leading slash ("/berth/pods/pod-1", "berth/pods/pod-1/cgroup.procs"). Failures are
 * {@link dev.berth.linux.LinuxException}s with the kernel's errno: mkdir EEXIST or ENOENT (a parent
 * went away), rmdir EBUSY (processes or child cgroups left), ENOENT for what is not there.
 */
public interface CgroupFiles {
    /** The mount point. */
    Path mount();

    /** Whether the mount point is a cgroup2 filesystem (a plain directory in tests is not). */
    boolean isCgroup2();

    boolean exists(String path);

    boolean isDirectory(String path);

    void mkdir(String path);

    void rmdir(String path);

    String read(String path);

    void write(String path, String value);

    /** Names of the child cgroups of {@code path}. */
    List<String> children(String path);

    /** {@code path} as a file system path under the mount point. */
    default Path resolve(String path) {
        String rel = path.startsWith("/") ? path.substring(1) : path;
        return rel.isEmpty() ? mount() : mount().resolve(rel);
    }
}
