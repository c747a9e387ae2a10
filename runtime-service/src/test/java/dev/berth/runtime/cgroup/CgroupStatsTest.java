package dev.berth.runtime.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Usage figures from fixture cgroup files, and the CPU rate between two samples. */
class CgroupStatsTest {
    @TempDir
    Path root;

    @Test
    void readsCpuMemorySwapAndProcesses() throws Exception {
        Path pod = Files.createDirectories(root.resolve("pod"));
        Files.writeString(pod.resolve("cpu.stat"), "usage_usec 2500\nuser_usec 2000\n");
        Files.writeString(pod.resolve("memory.current"), "1000000\n");
        Files.writeString(pod.resolve("memory.stat"), "anon 600000\ninactive_file 300000\npgfault 42\npgmajfault 3\n");
        Files.writeString(pod.resolve("memory.max"), "2000000\n");
        Files.writeString(pod.resolve("memory.swap.current"), "4096\n");
        Files.writeString(pod.resolve("memory.swap.max"), "max\n");
        Files.writeString(pod.resolve("cgroup.procs"), "1\n");
        Path child = Files.createDirectories(pod.resolve("berth-c1"));
        Files.writeString(child.resolve("cgroup.procs"), "2\n3\n");
        CgroupStats s = CgroupStats.read(new CgroupManager(root, new CgroupfsDriver(), false), "/pod");
        assertEquals(2_500_000, s.cpuUsageNanos());
        assertEquals(OptionalLong.of(700_000), s.workingSet());
        assertEquals(OptionalLong.of(1_300_000), s.available());
        assertEquals(OptionalLong.of(600_000), s.rss());
        assertEquals(OptionalLong.of(42), s.pageFaults());
        assertEquals(OptionalLong.of(4096), s.swapUsage());
        assertTrue(s.swapAvailable().isEmpty(), "no swap limit: nothing to say is available");
        assertEquals(OptionalLong.of(3), s.processes(), "processes of the cgroup and its children");
        Files.writeString(pod.resolve("pids.current"), "5\n");
        assertEquals(OptionalLong.of(5), CgroupStats.read(new CgroupManager(root, new CgroupfsDriver(), false),
                "/pod").processes());
    }

    @Test
    void cpuRateIsUsageOverWallTimeBetweenSamples() {
        CpuRates rates = new CpuRates();
        assertTrue(rates.next("/a", 1_000_000_000L, 0).isEmpty(), "no rate from a single sample");
        assertEquals(OptionalLong.of(500_000_000L), rates.next("/a", 3_000_000_000L, 1_000_000_000L));
        assertTrue(rates.next("/b", 3_000_000_000L, 5).isEmpty(), "keys are separate");
        rates.forget("/a");
        assertTrue(rates.next("/a", 4_000_000_000L, 2_000_000_000L).isEmpty());
    }
}
