package dev.berth.runtime.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * Usage figures of one cgroup (and its descendants, as cgroup v2 counts them) for ContainerStats
 * and PodSandboxStats: CPU time from cpu.stat (always present in v2), memory from memory.current /
 * memory.stat / memory.max and swap from memory.swap.* when the memory controller is enabled, the
 * process count from pids.current or, without the pids controller, from every cgroup.procs below.
 * Absent figures stay empty rather than reported as zero.
 */
public record CgroupStats(long cpuUsageNanos, OptionalLong memoryUsage, OptionalLong workingSet,
        OptionalLong rss, OptionalLong available, OptionalLong pageFaults, OptionalLong majorPageFaults,
        OptionalLong swapUsage, OptionalLong swapAvailable, OptionalLong processes, Cpu cpu, Memory memory) {

    /** cpu.stat beyond the total: user/system split; throttling only with the cpu controller enabled. */
    public record Cpu(long userNanos, long systemNanos, OptionalLong periods, OptionalLong throttledPeriods,
            OptionalLong throttledNanos) {}

    /** memory.stat beyond the working set: page cache, mapped files; the limit (empty = none). */
    public record Memory(OptionalLong cache, OptionalLong mappedFile, OptionalLong limit) {}

    public static CgroupStats read(CgroupManager m, String cgroup) {
        Map<String, Long> cpuStat = keyed(m.read(cgroup, "cpu.stat").orElse(""));
        long cpu = cpuStat.getOrDefault("usage_usec", 0L) * 1000;
        Cpu cpuMore = new Cpu(cpuStat.getOrDefault("user_usec", 0L) * 1000,
                cpuStat.getOrDefault("system_usec", 0L) * 1000, opt(cpuStat, "nr_periods"),
                opt(cpuStat, "nr_throttled"), cpuStat.containsKey("throttled_usec")
                        ? OptionalLong.of(cpuStat.get("throttled_usec") * 1000) : OptionalLong.empty());
        OptionalLong current = number(m.read(cgroup, "memory.current").orElse(null));
        Map<String, Long> stat = keyed(m.read(cgroup, "memory.stat").orElse(""));
        OptionalLong ws = OptionalLong.empty();
        if (current.isPresent()) {
            // As kubelet/cAdvisor define it: usage minus inactive file pages.
            ws = OptionalLong.of(Math.max(0, current.getAsLong() - stat.getOrDefault("inactive_file", 0L)));
        }
        OptionalLong limit = number(m.read(cgroup, "memory.max").orElse(null));
        OptionalLong avail = limit.isPresent() && ws.isPresent()
                ? OptionalLong.of(Math.max(0, limit.getAsLong() - ws.getAsLong())) : OptionalLong.empty();
        OptionalLong swap = number(m.read(cgroup, "memory.swap.current").orElse(null));
        OptionalLong swapLimit = number(m.read(cgroup, "memory.swap.max").orElse(null));
        OptionalLong swapAvail = swap.isPresent() && swapLimit.isPresent()
                ? OptionalLong.of(Math.max(0, swapLimit.getAsLong() - swap.getAsLong())) : OptionalLong.empty();
        OptionalLong procs = number(m.read(cgroup, "pids.current").orElse(null));
        if (procs.isEmpty()) {
            procs = countProcesses(m.dir(cgroup));
        }
        return new CgroupStats(cpu, current, ws, opt(stat, "anon"), avail, opt(stat, "pgfault"),
                opt(stat, "pgmajfault"), swap, swapAvail, procs, cpuMore,
                new Memory(opt(stat, "file"), opt(stat, "file_mapped"), limit));
    }

    /** Processes in the cgroup and every cgroup below it (what pids.current counts, without the controller). */
    static OptionalLong countProcesses(Path dir) {
        if (!Files.isDirectory(dir)) {
            return OptionalLong.empty();
        }
        long[] n = {0};
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(p -> p.getFileName().toString().equals("cgroup.procs")).forEach(p -> {
                try {
                    n[0] += Files.readAllLines(p).stream().filter(l -> !l.isBlank()).count();
                } catch (IOException gone) {
                    // a child cgroup removed while walking
                }
            });
        } catch (IOException | java.io.UncheckedIOException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(n[0]);
    }

    private static OptionalLong opt(Map<String, Long> m, String k) {
        return m.containsKey(k) ? OptionalLong.of(m.get(k)) : OptionalLong.empty();
    }

    private static OptionalLong number(String s) {
        if (s == null || s.isEmpty() || s.equals("max")) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseLong(s.strip()));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    private static Map<String, Long> keyed(String text) {
        Map<String, Long> out = new HashMap<>();
        for (String line : text.split("\n")) {
            int sp = line.indexOf(' ');
            if (sp > 0) {
                try {
                    out.put(line.substring(0, sp), Long.parseLong(line.substring(sp + 1).strip()));
                } catch (NumberFormatException ignored) {
                    // not a counter line
                }
            }
        }
        return out;
    }
}
