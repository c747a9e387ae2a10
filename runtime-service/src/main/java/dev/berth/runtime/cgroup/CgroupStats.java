package dev.berth.runtime.cgroup;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Usage figures of one cgroup for ContainerStats: CPU time from cpu.stat (always present in v2),
 * memory from memory.current / memory.stat / memory.max when the memory controller is enabled.
 * Absent figures stay empty rather than reported as zero.
 */
public record CgroupStats(long cpuUsageNanos, OptionalLong memoryUsage, OptionalLong workingSet,
        OptionalLong rss, OptionalLong available, OptionalLong pageFaults, OptionalLong majorPageFaults) {

    public static CgroupStats read(CgroupManager m, String cgroup) {
        long cpu = keyed(m.read(cgroup, "cpu.stat").orElse("")).getOrDefault("usage_usec", 0L) * 1000;
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
        return new CgroupStats(cpu, current, ws, opt(stat, "anon"), avail, opt(stat, "pgfault"),
                opt(stat, "pgmajfault"));
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
