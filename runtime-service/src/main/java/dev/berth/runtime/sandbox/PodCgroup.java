package dev.berth.runtime.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.linux.Errno;
import dev.berth.linux.LinuxException;
import dev.berth.linux.host.CgroupFiles;
import java.util.ArrayList;
import java.util.List;

/**
 * The pod's cgroup directory (cgroup v2 only). Its path is always absolute in the v2 hierarchy,
 * never relative to the daemon's own cgroup: the CRI cgroup_parent as given ("/kubepods/pod-x"),
 * a systemd slice name expanded the way the systemd driver nests it, or /berth/pods/pod-<id>.
 * The container side owns controllers and limits; this only makes and removes directories.
 */
public final class PodCgroup {
    /** The pod cgroup's child that holds the infra process (the pod's PID 1, when it has one). */
    static final String INFRA_LEAF = "berth-infra";
    /**
     * The pod cgroup's child that holds the pod's container monitors (conmon), as CRI-O's
     * conmon_cgroup "pod": outside the daemon's cgroup, so a daemon restart under systemd (which
     * kills its unit's cgroup) leaves them running, and charged to the pod.
     */
    public static final String MONITOR_LEAF = "berth-conmon";
    private final CgroupFiles files;

    public PodCgroup(CgroupFiles files) {
        this.files = files;
    }

    /** The pod cgroup path for a CRI cgroup_parent. */
    public static String pathFor(String cgroupParent, String sandboxId) {
        String p = cgroupParent == null ? "" : cgroupParent.strip();
        if (p.isEmpty()) {
            return DEFAULT_PARENT + "/pod-" + sandboxId;
        }
        if (p.contains("..") || p.contains("\0")) {
            throw BerthException.invalid("cgroup_parent %s must not contain \"..\"", cgroupParent);
        }
        if (!p.startsWith("/") && p.endsWith(".slice")) {
            // systemd name "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice
            String base = p.substring(0, p.length() - ".slice".length());
            StringBuilder path = new StringBuilder();
            String[] parts = base.split("-");
            String prefix = "";
            for (String part : parts) {
                if (part.isEmpty()) {
                    throw BerthException.invalid("cgroup_parent %s is not a valid slice name", cgroupParent);
                }
                prefix = prefix.isEmpty() ? part : prefix + "-" + part;
                path.append('/').append(prefix).append(".slice");
            }
            return path.toString();
        }
        String abs = p.startsWith("/") ? p : "/" + p;
        return abs.replaceAll("/+", "/").replaceAll("/$", "");
    }

    /** The monitors' leaf beside a container's cgroup ({@code <pod cgroup>/berth-conmon}), absolute. */
    public static String monitorCgroup(String containerCgroup) {
        int slash = containerCgroup.lastIndexOf('/');
        if (!containerCgroup.startsWith("/") || slash < 0) {
            throw BerthException.internal("container cgroup " + containerCgroup + " is not absolute", null);
        }
        return containerCgroup.substring(0, slash) + "/" + MONITOR_LEAF;
    }

    /** Where pods without a cgroup_parent go: /berth/pods/pod-<id>; berth owns these parents. */
    static final String DEFAULT_PARENT = "/berth/pods";

    /** Creates the directory and missing parents; returns those it created, outermost first. */
    public List<String> create(String cgroupPath) {
        if (!files.exists("cgroup.controllers")) {
            throw BerthException.precondition("%s is not a cgroup v2 mount (no cgroup.controllers); berth needs "
                    + "cgroup v2: set cgroup.mount to the cgroup2 mount point", files.mount());
        }
        for (int attempt = 0; ; attempt++) {
            try {
                return createOnce(cgroupPath);
            } catch (LinuxException e) {
                // ENOENT: a parent was removed by another pod's teardown between our check and mkdir
                if (e.errno() != Errno.ENOENT || attempt >= 3) {
                    throw BerthException.internal("cannot create cgroup " + cgroupPath + ": " + e.getMessage(), e);
                }
            }
        }
    }

    private List<String> createOnce(String cgroupPath) {
        List<String> created = new ArrayList<>();
        StringBuilder rel = new StringBuilder();
        for (String part : cgroupPath.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            rel.append('/').append(part);
            if (!files.isDirectory(rel.toString())) {
                try {
                    files.mkdir(rel.toString());
                    created.add(rel.toString());
                } catch (LinuxException e) {
                    if (e.errno() != Errno.EEXIST) {
                        throw e;
                    }
                    // another pod made the shared parent at the same time
                }
            }
        }
        return created;
    }

    /**
     * Removes the directories this pod created, deepest first, if they are empty of processes and
     * child cgroups (a shared parent still used by another pod stays). Repeatable.
     */
    public void remove(List<String> created) {
        if (created == null) {
            return;
        }
        for (int i = created.size() - 1; i >= 0; i--) {
            String dir = created.get(i);
            boolean deepest = i == created.size() - 1;
            if (deepest) {
                removeLeaves(created.get(i));
            }
            for (int attempt = 0; ; attempt++) {
                try {
                    files.rmdir(dir);
                    break;
                } catch (LinuxException e) {
                    if (e.errno() == Errno.ENOENT) {
                        break; // already gone
                    }
                    if (e.errno() == Errno.ENOTEMPTY) {
                        // a plain directory standing in for cgroupfs (tests): child directories
                        if (!deepest) {
                            return; // a parent shared with other pods
                        }
                        throw BerthException.precondition("cgroup %s still has child cgroups; remove the pod's "
                                + "containers first", files.resolve(dir));
                    }
                    if (e.errno() != Errno.EBUSY) {
                        throw BerthException.internal("cannot remove cgroup " + files.resolve(dir) + ": "
                                + e.getMessage(), e);
                    }
                    // EBUSY: child cgroups, or processes still leaving the cgroup
                    if (!deepest) {
                        return;
                    }
                    if (attempt >= 50) {
                        throw BerthException.precondition("cgroup %s is still in use: %s", files.resolve(dir),
                                e.getMessage());
                    }
                    sleep(20);
                }
            }
        }
    }

    /**
     * Removes berth's leaves of a pod cgroup, the infra's and the monitors', once their processes
     * are gone (the containers were removed before, their monitors end just after them). Done for
     * every pod, also where the pod cgroup itself is kubelet's to remove. Repeatable.
     */
    public void removeLeaves(String cgroupPath) {
        if (cgroupPath == null || !cgroupPath.startsWith("/")) {
            return;
        }
        for (String leaf : List.of(INFRA_LEAF, MONITOR_LEAF)) {
            String dir = cgroupPath + "/" + leaf;
            if (files.isDirectory(dir)) {
                awaitEmpty(dir, 5_000);
                remove(List.of(dir));
            }
        }
    }

    /** Removes berth's default parents once no pod uses them (whoever created them). */
    public void removeDefaultParentsIfUnused(String cgroupPath) {
        if (!cgroupPath.startsWith(DEFAULT_PARENT + "/")) {
            return;
        }
        for (String p : List.of(DEFAULT_PARENT, "/berth")) {
            try {
                files.rmdir(p);
            } catch (LinuxException e) {
                if (e.errno() != Errno.ENOENT) {
                    return; // other pods are still there
                }
            }
        }
    }

    /** Whether the mount is a real cgroup2 mount (tests use a plain directory standing in for one). */
    public boolean isCgroup2() {
        return files.isCgroup2();
    }

    /**
     * Moves the infra process into a leaf of the pod cgroup. Not into the pod cgroup itself: cgroup v2
     * lets a cgroup hand controllers to its children (the containers' memory, pids, cpu limits)
     * only while it holds no process of its own ("no internal processes").
     */
    public void addProcess(String cgroupPath, int pid) {
        String leaf = cgroupPath + "/" + INFRA_LEAF;
        try {
            if (!files.isDirectory(leaf)) {
                files.mkdir(leaf);
            }
            files.write(leaf + "/cgroup.procs", Integer.toString(pid));
        } catch (LinuxException e) {
            throw BerthException.internal("cannot move pid " + pid + " into " + files.resolve(leaf) + ": "
                    + e.getMessage(), e);
        }
    }

    /** Waits until no process is left in the cgroup {@code dir} (or it is gone), at most {@code millis}. */
    private boolean awaitEmpty(String dir, long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (true) {
            try {
                if (files.read(dir + "/cgroup.procs").isBlank()) {
                    return true;
                }
            } catch (LinuxException gone) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            sleep(10);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
