package dev.berth.conformance.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;

/** The benches' one reader of a process' memory (RSS and PSS from /proc/PID/smaps_rollup). */
final class ProcessMemory {
    private ProcessMemory() {}

    /** {rss kB, pss kB, process count} of the daemon plus every process whose command line matches. */
    static long[] total(long daemonPid, Predicate<String> perContainer) throws IOException {
        long rss = 0;
        long pss = 0;
        long n = 0;
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String cmd;
                try {
                    cmd = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
                } catch (IOException gone) {
                    continue;
                }
                if (Long.parseLong(name) == daemonPid || perContainer.test(cmd)) {
                    long[] m = rssPss(p);
                    rss += m[0];
                    pss += m[1];
                    n++;
                }
            }
        }
        return new long[] {rss, pss, n};
    }

    /** {rss kB, pss kB} of one process (/proc/PID), zeros once it has ended. */
    static long[] rssPss(Path proc) {
        long rss = 0;
        long pss = 0;
        try {
            for (String line : Files.readAllLines(proc.resolve("smaps_rollup"))) {
                if (line.startsWith("Rss:")) {
                    rss = number(line);
                } else if (line.startsWith("Pss:")) {
                    pss = number(line);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // process ended
        }
        return new long[] {rss, pss};
    }

    /** The number on a /proc line such as "Pss:   1234 kB" or "Threads:  12". */
    static long number(String line) {
        return Long.parseLong(line.replaceAll("\\D", ""));
    }
}
