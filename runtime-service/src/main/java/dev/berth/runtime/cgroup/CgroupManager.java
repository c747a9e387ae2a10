package dev.berth.runtime.cgroup;

import dev.berth.core.error.BerthException;
import dev.berth.linux.Errno;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Processes;
import dev.berth.linux.host.CgroupFiles;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.ProcessTable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import runtime.v1.LinuxContainerResources;

/**
 * berth's own cgroup v2 manager (cgroupfs layout): creates pod and container cgroups, enables the
 * controllers a limit needs down the tree, writes limits, reads OOM events and removes cgroups.
 * The hierarchy is reached through {@link CgroupFiles} (and the processes it kills through
 * {@link ProcessTable}), so tests run it against fixture files or the fake host.
 */
public final class CgroupManager {
    private static final Logger LOG = Logger.getLogger(CgroupManager.class.getName());
    private static final List<CgroupController> CONTROLLERS = List.of(
            new CpuController(), new CpusetController(), new MemoryController(), new PidsController(),
            new HugetlbController());

    private final CgroupFiles files;
    private final ProcessTable processes;
    private final Path mount;
    private final CgroupDriver driver;
    private final boolean skipMissingControllers;
    private final Set<String> skipped = ConcurrentHashMap.newKeySet();

    /** On the real host, the hierarchy mounted at {@code mount}. */
    public CgroupManager(Path mount, CgroupDriver driver, boolean skipMissingControllers) {
        this(LinuxHost.system(), mount, driver, skipMissingControllers);
    }

    public CgroupManager(LinuxHost host, Path mount, CgroupDriver driver, boolean skipMissingControllers) {
        this.files = host.cgroups(mount);
        this.processes = host.processes();
        this.mount = mount;
        this.driver = driver;
        this.skipMissingControllers = skipMissingControllers;
    }

    public CgroupDriver driver() {
        return driver;
    }

    /** The directory of an absolute cgroup path. */
    public Path dir(String cgroup) {
        CgroupPaths.check(cgroup);
        return files.resolve(cgroup);
    }

    /** Creates the cgroup and its parents (idempotent). */
    public void create(String cgroup) {
        CgroupPaths.check(cgroup);
        StringBuilder path = new StringBuilder();
        for (String part : cgroup.substring(1).split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            path.append('/').append(part);
            try {
                if (!files.isDirectory(path.toString())) {
                    files.mkdir(path.toString());
                }
            } catch (LinuxException e) {
                if (e.errno() != Errno.EEXIST) { // made meanwhile by a concurrent create
                    throw BerthException.internal("cannot create cgroup " + cgroup + " under " + mount + ": "
                            + e.getMessage(), e);
                }
            }
        }
    }

    /**
     * Checks what {@code r} needs against the host before anything is created: a missing
     * controller fails with FAILED_PRECONDITION naming it, or (skip_missing_controllers) is
     * dropped with one warning. Returns the files to write, by controller.
     */
    public Map<String, Map<String, String>> plan(LinuxContainerResources r) {
        Map<String, Map<String, String>> wanted = new LinkedHashMap<>();
        for (CgroupController c : CONTROLLERS) {
            Map<String, String> f = c.files(r);
            if (!f.isEmpty()) {
                wanted.computeIfAbsent(c.name(), k -> new LinkedHashMap<>()).putAll(f);
            }
        }
        UnifiedController.byController(r).forEach(
                (c, f) -> wanted.computeIfAbsent(c, k -> new LinkedHashMap<>()).putAll(f));
        Set<String> available = available();
        Map<String, Map<String, String>> plan = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, String>> e : wanted.entrySet()) {
            String c = e.getKey();
            if (available.contains(c)) {
                plan.put(c, e.getValue());
            } else if (skipMissingControllers) {
                if (skipped.add(c)) {
                    LOG.warning("cgroup controller " + c + " is not available on this host (" + mount
                            + "/cgroup.controllers); skipping limits that need it: " + e.getValue().keySet());
                }
            } else {
                throw BerthException.precondition("the %s cgroup controller is not available on this host "
                        + "(%s/cgroup.controllers lists %s) but the container asks for %s; enable it or set "
                        + "cgroup.skip_missing_controllers=true to run without the limit",
                        c, mount, available.isEmpty() ? "none" : available, e.getValue().keySet());
            }
        }
        return plan;
    }

    /** Enables the planned controllers from the root down to the cgroup's parent, then writes the files. */
    public void apply(String cgroup, Map<String, Map<String, String>> plan) {
        if (plan.isEmpty()) {
            return;
        }
        enableControllers(cgroup, plan.keySet());
        Path dir = dir(cgroup);
        for (Map<String, String> controllerFiles : plan.values()) {
            for (Map.Entry<String, String> f : controllerFiles.entrySet()) {
                try {
                    files.write(file(cgroup, f.getKey()), f.getValue());
                } catch (LinuxException e) {
                    throw BerthException.internal("cannot write " + f.getValue() + " to " + dir.resolve(f.getKey())
                            + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /** Checks and applies in one step. */
    public void applyResources(String cgroup, LinuxContainerResources r) {
        apply(cgroup, plan(r));
    }

    private void enableControllers(String cgroup, Set<String> controllers) {
        CgroupPaths.check(cgroup);
        // the root ("") and each ancestor below it, outermost first; not the cgroup itself
        List<String> ancestors = new ArrayList<>();
        if (!cgroup.replace("/", "").isEmpty()) { // the root itself has no parent to enable anything in
            ancestors.add("");
        }
        String[] parts = cgroup.substring(1).split("/");
        StringBuilder path = new StringBuilder();
        for (int i = 0; i < parts.length - 1; i++) {
            if (!parts[i].isEmpty()) {
                path.append('/').append(parts[i]);
                ancestors.add(path.toString());
            }
        }
        for (String p : ancestors) {
            Set<String> on = readSet(p + "/cgroup.subtree_control");
            for (String c : controllers) {
                if (!on.contains(c)) {
                    try {
                        files.write(p + "/cgroup.subtree_control", "+" + c);
                    } catch (LinuxException e) {
                        throw BerthException.internal("cannot enable the " + c + " controller in " + files.resolve(p)
                                + "/cgroup.subtree_control: " + e.getMessage(), e);
                    }
                }
            }
        }
    }

    /** How many times the kernel OOM-killed in this cgroup (memory.events oom_kill). */
    public long oomKills(String cgroup) {
        CgroupPaths.check(cgroup);
        try {
            for (String line : files.read(file(cgroup, "memory.events")).split("\n")) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring(9).strip());
                }
            }
        } catch (LinuxException | NumberFormatException e) {
            // no memory controller or cgroup gone: nothing recorded
        }
        return 0;
    }

    /** Reads one interface file, if present. */
    public Optional<String> read(String cgroup, String file) {
        CgroupPaths.check(cgroup);
        try {
            return Optional.of(files.read(file(cgroup, file)).strip());
        } catch (LinuxException e) {
            return Optional.empty();
        }
    }

    /** Removes the cgroup (which must be empty of processes); absent is fine. Retries while busy. */
    public void remove(String cgroup) {
        CgroupPaths.check(cgroup);
        for (int attempt = 0; ; attempt++) {
            try {
                if (!files.exists(cgroup)) {
                    return;
                }
                files.rmdir(cgroup);
                return;
            } catch (LinuxException e) {
                if (e.errno() == Errno.ENOENT || !files.isDirectory(cgroup)) {
                    return;
                }
                if (e.errno() != Errno.EBUSY && e.errno() != Errno.ENOTEMPTY) {
                    throw BerthException.internal("cannot remove cgroup " + cgroup + ": " + e.getMessage(), e);
                }
                if (attempt >= 60) {
                    throw BerthException.internal("cannot remove cgroup " + cgroup + ": " + e.getMessage(), e);
                }
                try {
                    // a cgroup stays busy only while its last killed processes are being reaped
                    // (usually a millisecond or two): back off from 1 ms to 20 ms, not 20 ms at once
                    Thread.sleep(Math.min(20, 1L << Math.min(attempt, 5)));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /**
     * SIGKILLs every process in the cgroup (cgroup.kill, or one by one from cgroup.procs on kernels
     * before 5.14) and waits up to {@code millis} for it to empty. This is what guarantees that a
     * half-created container (a runtime init process whose runtime was interrupted) cannot outlive
     * its removal. Returns whether the cgroup is empty (or gone).
     */
    public boolean killAll(String cgroup, long millis) {
        CgroupPaths.check(cgroup);
        if (!files.isDirectory(cgroup)) {
            return true;
        }
        try {
            if (files.exists(file(cgroup, "cgroup.kill"))) {
                files.write(file(cgroup, "cgroup.kill"), "1");
            } else {
                for (String pid : files.read(file(cgroup, "cgroup.procs")).split("\n")) {
                    if (!pid.isBlank()) {
                        processes.kill(Integer.parseInt(pid.strip()), Processes.SIGKILL);
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.warning("cannot kill the processes of cgroup " + cgroup + ": " + e.getMessage());
        }
        long deadline = System.nanoTime() + millis * 1_000_000L;
        for (int attempt = 0; ; attempt++) {
            try {
                if (!files.isDirectory(cgroup) || files.read(file(cgroup, "cgroup.procs")).isBlank()) {
                    return true;
                }
            } catch (LinuxException e) {
                return true; // removed meanwhile
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(Math.min(10, 1L << Math.min(attempt, 4))); // 1, 2, 4, 8, 10 ms
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** Controllers skipped because the host lacks them (for Status). */
    public Set<String> skippedControllers() {
        return Set.copyOf(skipped);
    }

    /** An interface file of a cgroup, as a path in the hierarchy ("/" is the root). */
    private static String file(String cgroup, String name) {
        return (cgroup.endsWith("/") ? cgroup.substring(0, cgroup.length() - 1) : cgroup) + "/" + name;
    }

    private Set<String> available() {
        return readSet("/cgroup.controllers");
    }

    private Set<String> readSet(String file) {
        try {
            String s = files.read(file).strip();
            return s.isEmpty() ? new LinkedHashSet<>() : new LinkedHashSet<>(List.of(s.split("\\s+")));
        } catch (LinuxException e) {
            return new LinkedHashSet<>();
        }
    }
}
