package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.state.StateStore;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import dev.berth.runtime.container.ContainerRecord.Phase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerResources;

/**
 * Limits enforced by a real cgroup v2 kernel: runs only where the root cgroup offers the memory,
 * cpu and pids controllers, i.e. in the cgroup v2 VM:
 * {@code ../shared/vm/run-in-vm.sh --share . -- mvn -o -q -pl runtime-service surefire:test
 * -Dtest=CgroupV2LimitsTest}. On the hybrid build machines it is skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CgroupV2LimitsTest {
    private Path tmp;
    private StateStore store;
    private ContainerService service;
    private CgroupManager cgroups;
    private final String podCgroup = "/berth-limits-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void setUp() throws Exception {
        TestFixtures.assumeContainerHost();
        String controllers = Files.readString(Path.of("/sys/fs/cgroup/cgroup.controllers"));
        assumeTrue(controllers.contains("memory") && controllers.contains("pids") && controllers.contains("cpu"),
                "needs the memory, cpu and pids controllers (run in ../shared/vm/run-in-vm.sh)");
        tmp = Files.createTempDirectory("berth-limits-test");
        Path lower = TestFixtures.busyboxRootfs(tmp.resolve("image/rootfs"));
        TestFixtures.Images images = new TestFixtures.Images();
        images.byRef.put("busybox", TestFixtures.image("sha256:" + "ef".repeat(32), lower,
                TestFixtures.config(List.of(), List.of("sh"), "")));
        TestFixtures.Pods pods = new TestFixtures.Pods();
        pods.byId.put("pod1", TestFixtures.pod("pod1", tmp.resolve("pods/pod1"), podCgroup, ""));
        store = StateStore.open(tmp.resolve("state"));
        cgroups = new CgroupManager(Path.of("/sys/fs/cgroup"), new CgroupfsDriver(), false);
        service = TestFixtures.service(tmp, store, cgroups, images, pods, Map.of("runc", TestFixtures.RUNC));
    }

    @AfterAll
    void tearDown() throws Exception {
        TestFixtures.cleanUp(service, store, cgroups, podCgroup, tmp);
    }

    private static ContainerConfig cfg(String name, LinuxContainerResources r, String script) {
        return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage("busybox")).addAllCommand(List.of("sh", "-c", script))
                .setLinux(LinuxContainerConfig.newBuilder().setResources(r)).setLogPath(name + ".log").build();
    }

    private ContainerRecord awaitExit(String id, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            ContainerRecord r = service.status(id);
            if (r.phase() == Phase.EXITED) {
                return r;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("container " + id + " did not exit in " + seconds + "s");
    }

    @Test
    void memoryLimitEndsInOomKilled() throws Exception {
        String id = service.create("pod1", cfg("oom", LinuxContainerResources.newBuilder()
                .setMemoryLimitInBytes(32 << 20).setMemorySwapLimitInBytes(32 << 20).build(),
                "head -c 104857600 /dev/zero | tail > /dev/null"));
        ContainerRecord created = service.status(id);
        assertEquals(Integer.toString(32 << 20), cgroups.read(created.cgroup(), "memory.max").orElseThrow());
        service.start(id);
        ContainerRecord r = awaitExit(id, 120);
        assertEquals("OOMKilled", r.reason());
        assertEquals(137, r.exitCode());
        assertTrue(cgroups.oomKills(r.cgroup()) > 0);
        service.remove(id);
    }

    @Test
    void pidsLimitStopsForks() throws Exception {
        String id = service.create("pod1", cfg("pids", LinuxContainerResources.newBuilder()
                .putUnified("pids.max", "8").build(),
                "for i in $(seq 1 20); do sleep 30 & done; sleep 30"));
        service.start(id);
        ContainerRecord r = service.status(id);
        Thread.sleep(3000);
        assertEquals("8", cgroups.read(r.cgroup(), "pids.max").orElseThrow());
        assertTrue(Long.parseLong(cgroups.read(r.cgroup(), "pids.current").orElseThrow()) <= 8);
        String events = cgroups.read(r.cgroup(), "pids.events").orElseThrow();
        assertTrue(!events.contains("max 0"), events);
        assertTrue(Files.readString(Path.of(r.logPath())).contains("can't fork"));
        service.remove(id);
    }

    @Test
    void cpuMaxThrottlesAndUpdateChangesLimits() throws Exception {
        String id = service.create("pod1", cfg("cpu", LinuxContainerResources.newBuilder()
                .setCpuQuota(20_000).setCpuPeriod(100_000).setCpuShares(512).build(),
                "while true; do :; done"));
        service.start(id);
        ContainerRecord r = service.status(id);
        assertEquals("20000 100000", cgroups.read(r.cgroup(), "cpu.max").orElseThrow());
        assertEquals("20", cgroups.read(r.cgroup(), "cpu.weight").orElseThrow());
        Thread.sleep(3000);
        long throttled = cpuStat(r.cgroup(), "nr_throttled");
        assertTrue(throttled > 0, "busy loop under cpu.max was throttled");

        service.updateResources(id, LinuxContainerResources.newBuilder().setCpuQuota(50_000).setCpuPeriod(100_000)
                .setMemoryLimitInBytes(64 << 20).build());
        assertEquals("50000 100000", cgroups.read(r.cgroup(), "cpu.max").orElseThrow());
        assertEquals(Integer.toString(64 << 20), cgroups.read(r.cgroup(), "memory.max").orElseThrow());
        assertEquals(64 << 20, service.status(id).resourcesProto().getMemoryLimitInBytes());
        assertEquals(Phase.RUNNING, service.status(id).phase());
        service.stop(id, 0);
        service.remove(id);
    }

    private long cpuStat(String cgroup, String key) {
        for (String line : cgroups.read(cgroup, "cpu.stat").orElseThrow().split("\n")) {
            if (line.startsWith(key + " ")) {
                return Long.parseLong(line.substring(key.length() + 1).strip());
            }
        }
        return -1;
    }
}
