package dev.berth.runtime.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.HugepageLimit;
import runtime.v1.LinuxContainerResources;

/** The manager against a directory of fixture files standing in for /sys/fs/cgroup. */
class CgroupManagerTest {
    @TempDir
    Path root;

    private CgroupManager manager(String controllers, boolean skip) throws IOException {
        Files.writeString(root.resolve("cgroup.controllers"), controllers + "\n");
        Files.writeString(root.resolve("cgroup.subtree_control"), "");
        return new CgroupManager(root, new CgroupfsDriver(), skip);
    }

    private static LinuxContainerResources limits() {
        return LinuxContainerResources.newBuilder()
                .setCpuShares(1024).setCpuQuota(50_000).setCpuPeriod(100_000)
                .setMemoryLimitInBytes(64 << 20).setMemorySwapLimitInBytes(96 << 20)
                .setCpusetCpus("0-1").setCpusetMems("0")
                .addHugepageLimits(HugepageLimit.newBuilder().setPageSize("2MB").setLimit(4 << 20))
                .putUnified("pids.max", "32").putUnified("memory.high", "50000000")
                .build();
    }

    @Test
    void writesEveryControllerFile() throws IOException {
        CgroupManager m = manager("cpuset cpu io memory hugetlb pids", false);
        String cg = m.driver().containerCgroup("/kubepods/pod1", "abc");
        assertEquals("/kubepods/pod1/berth-abc", cg);
        m.create(cg);
        m.applyResources(cg, limits());
        Path d = m.dir(cg);
        assertEquals("39", Files.readString(d.resolve("cpu.weight")));
        assertEquals("50000 100000", Files.readString(d.resolve("cpu.max")));
        assertEquals(Integer.toString(64 << 20), Files.readString(d.resolve("memory.max")));
        assertEquals(Integer.toString(32 << 20), Files.readString(d.resolve("memory.swap.max")));
        assertEquals("0-1", Files.readString(d.resolve("cpuset.cpus")));
        assertEquals("0", Files.readString(d.resolve("cpuset.mems")));
        assertEquals(Integer.toString(4 << 20), Files.readString(d.resolve("hugetlb.2MB.max")));
        assertEquals("32", Files.readString(d.resolve("pids.max")));
        assertEquals("50000000", Files.readString(d.resolve("memory.high")));
        // A fixture file keeps only the last write: the controller was enabled in every ancestor.
        assertTrue(Files.readString(root.resolve("kubepods/pod1/cgroup.subtree_control")).startsWith("+"));
        // A plain directory with files is not removable like an empty cgroup: reported, not ignored.
        assertThrows(BerthException.class, () -> m.remove(cg));
        m.remove("/kubepods/gone");
    }

    @Test
    void weightMapsTheShareRange() {
        assertEquals(1, CpuController.weight(2));
        assertEquals(10000, CpuController.weight(262144));
        assertEquals(39, CpuController.weight(1024));
    }

    @Test
    void missingControllerIsAPreconditionNamingIt() throws IOException {
        CgroupManager m = manager("cpu pids", false);
        BerthException e = assertThrows(BerthException.class, () -> m.plan(limits()));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains("cpuset") || e.getMessage().contains("memory"), e.getMessage());
        assertTrue(m.plan(LinuxContainerResources.newBuilder().setCpuShares(2).build()).containsKey("cpu"));
        assertTrue(m.plan(LinuxContainerResources.getDefaultInstance()).isEmpty());
    }

    @Test
    void skipMissingControllersWarnsAndRemembers() throws IOException {
        CgroupManager m = manager("cpu", true);
        var plan = m.plan(limits());
        assertEquals(Set.of("cpu"), plan.keySet());
        assertTrue(m.skippedControllers().containsAll(Set.of("memory", "pids", "cpuset", "hugetlb")));
    }

    @Test
    void badValuesAndPathsAreRejected() throws IOException {
        CgroupManager m = manager("cpu memory pids", false);
        assertThrows(BerthException.class, () -> m.plan(LinuxContainerResources.newBuilder()
                .putUnified("../../etc/passwd", "x").build()));
        assertThrows(BerthException.class, () -> m.plan(LinuxContainerResources.newBuilder()
                .putUnified("cgroup.procs", "1").build()));
        assertThrows(BerthException.class, () -> m.plan(LinuxContainerResources.newBuilder()
                .putUnified("pids.max", "-4").build()));
        assertThrows(BerthException.class, () -> m.plan(LinuxContainerResources.newBuilder()
                .setCpusetCpus("0;rm").build()));
        assertThrows(BerthException.class, () -> m.plan(LinuxContainerResources.newBuilder()
                .setMemoryLimitInBytes(100).setMemorySwapLimitInBytes(50).build()));
        assertThrows(BerthException.class, () -> m.dir("/a/../../etc"));
        assertThrows(BerthException.class, () -> m.dir("relative"));
    }

    @Test
    void oomKillsFromMemoryEvents() throws IOException {
        CgroupManager m = manager("memory", false);
        m.create("/p/c");
        assertEquals(0, m.oomKills("/p/c"));
        Files.writeString(m.dir("/p/c").resolve("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        assertEquals(1, m.oomKills("/p/c"));
    }

    @Test
    void hostCheckReadsMountinfo() throws IOException {
        Path mi = root.resolve("mountinfo");
        Files.writeString(mi, "48 47 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
                + "58 48 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
        var hybrid = new CgroupHost(Path.of("/sys/fs/cgroup"), mi).notReadyReason();
        assertTrue(hybrid.isPresent() && hybrid.get().contains("tmpfs"), hybrid.toString());
        Files.writeString(mi, Files.readString(mi) + "65 48 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        assertFalse(new CgroupHost(Path.of("/sys/fs/cgroup"), mi).notReadyReason().isPresent());
        assertTrue(new CgroupHost(Path.of("/nowhere"), mi).notReadyReason().isPresent());
    }
}
