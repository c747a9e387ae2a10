package dev.berth.runtime.cgroup;

import dev.berth.core.error.BerthException;

/** Cgroup paths are absolute in the v2 hierarchy and may never climb out of it. */
public final class CgroupPaths {
    private CgroupPaths() {}

    public static String check(String path) {
        if (path == null || !path.startsWith("/")) {
            throw BerthException.invalid("cgroup path \"%s\" must be absolute (start with /)", path);
        }
        for (String part : path.split("/")) {
            if (part.equals("..") || part.equals(".")) {
                throw BerthException.invalid("cgroup path \"%s\" must not contain . or .. components", path);
            }
        }
        if (path.contains("\0") || path.contains("\n")) {
            throw BerthException.invalid("cgroup path contains a control character");
        }
        return path;
    }
}
