package dev.berth.runtime.cgroup;

import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
 * The hierarchy's mount is a parameter, so tests run it against a directory of fixture files.
 */
public final class CgroupManager {
    private static final Logger LOG = Logger.getLogger(CgroupManager.class.getName());
    private static final List<CgroupController> CONTROLLERS = List.of(
            new CpuController(), new CpusetController(), new MemoryController(), new PidsController(),
            new HugetlbController());

    private final Path mount;
    private final CgroupDriver driver;
    private final boolean skipMissingControllers;
    private final Set<String> skipped = ConcurrentHashMap.newKeySet();

    public CgroupManager(Path mount, CgroupDriver driver, boolean skipMissingControllers) {
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
        return mount.resolve(cgroup.substring(1));
    }

    /** Creates the cgroup and its parents (idempotent). */
    public void create(String cgroup) {
        try {
            Files.createDirectories(dir(cgroup));
        } catch (IOException e) {
            throw BerthException.internal("cannot create cgroup " + cgroup + " under " + mount + ": " + e, e);
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
        Set<String> available = available(mount);
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
        for (Map<String, String> files : plan.values()) {
            for (Map.Entry<String, String> f : files.entrySet()) {
                Path file = dir.resolve(f.getKey());
                try {
                    Files.writeString(file, f.getValue());
                } catch (IOException e) {
                    throw BerthException.internal("cannot write " + f.getValue() + " to " + file + ": " + e, e);
                }
            }
        }
    }

    /** Checks and applies in one step. */
    public void applyResources(String cgroup, LinuxContainerResources r) {
        apply(cgroup, plan(r));
    }

    private void enableControllers(String cgroup, Set<String> controllers) {
        List<Path> ancestors = new ArrayList<>();
        for (Path p = dir(cgroup).getParent(); p != null && p.startsWith(mount); p = p.getParent()) {
            ancestors.addFirst(p);
        }
        for (Path p : ancestors) {
            Set<String> on = readSet(p.resolve("cgroup.subtree_control"));
            for (String c : controllers) {
                if (!on.contains(c)) {
                    try {
                        Files.writeString(p.resolve("cgroup.subtree_control"), "+" + c);
                    } catch (IOException e) {
                        throw BerthException.internal("cannot enable the " + c + " controller in " + p
                                + "/cgroup.subtree_control: " + e, e);
                    }
                }
            }
        }
    }

    /** How many times the kernel OOM-killed in this cgroup (memory.events oom_kill). */
    public long oomKills(String cgroup) {
        try {
            for (String line : Files.readAllLines(dir(cgroup).resolve("memory.events"))) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring(9).strip());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // no memory controller or cgroup gone: nothing recorded
        }
        return 0;
    }

    /** Reads one interface file, if present. */
    public Optional<String> read(String cgroup, String file) {
        try {
            return Optional.of(Files.readString(dir(cgroup).resolve(file)).strip());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Removes the cgroup (which must be empty of processes); absent is fine. Retries while busy. */
    public void remove(String cgroup) {
        Path dir = dir(cgroup);
        for (int attempt = 0; ; attempt++) {
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (NoSuchFileException e) {
                return;
            } catch (java.nio.file.FileSystemException e) {
                if (!Files.isDirectory(dir)) {
                    return;
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
            } catch (IOException e) {
                throw BerthException.internal("cannot remove cgroup " + cgroup + ": " + e.getMessage(), e);
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
        Path dir = dir(cgroup);
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try {
            if (Files.exists(dir.resolve("cgroup.kill"))) {
                Files.writeString(dir.resolve("cgroup.kill"), "1");
            } else {
                for (String pid : Files.readAllLines(dir.resolve("cgroup.procs"))) {
                    if (!pid.isBlank()) {
                        dev.berth.linux.Processes.kill(Integer.parseInt(pid.strip()), dev.berth.linux.Processes.SIGKILL);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warning("cannot kill the processes of cgroup " + cgroup + ": " + e.getMessage());
        }
        long deadline = System.nanoTime() + millis * 1_000_000L;
        for (int attempt = 0; ; attempt++) {
            try {
                if (!Files.isDirectory(dir) || Files.readString(dir.resolve("cgroup.procs")).isBlank()) {
                    return true;
                }
            } catch (IOException e) {
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

    private static Set<String> available(Path mount) {
        return readSet(mount.resolve("cgroup.controllers"));
    }

    private static Set<String> readSet(Path file) {
        try {
            String s = Files.readString(file).strip();
            return s.isEmpty() ? new LinkedHashSet<>() : new LinkedHashSet<>(List.of(s.split("\\s+")));
        } catch (IOException e) {
            return new LinkedHashSet<>();
        }
    }
}
