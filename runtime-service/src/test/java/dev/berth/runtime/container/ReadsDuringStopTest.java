package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.state.StateStore;
import dev.berth.linux.Processes;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import dev.berth.runtime.container.ContainerRecord.Phase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ImageSpec;

/**
 * kubelet's PLEG lists and inspects every second: a container that ignores SIGTERM, stopped with a
 * 30 s grace period, must not hold up ContainerStatus, ListContainers or ListContainerStats (they
 * used to wait for the container's lock for the whole grace period). Real runc under conmon.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReadsDuringStopTest {
    /** A thread per task: never queued behind another test's work in the common pool. */
    private static final java.util.concurrent.Executor OWN_THREAD = r -> Thread.ofVirtual().start(r);

    private Path tmp;
    private StateStore store;
    private ContainerService service;
    private CgroupManager cgroups;
    private final String podCgroup = "/berth-test-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void setUp() throws Exception {
        TestFixtures.assumeContainerHost();
        tmp = Files.createTempDirectory("berth-reads-test");
        Path lower = TestFixtures.busyboxRootfs(tmp.resolve("image/rootfs"));
        TestFixtures.Images images = new TestFixtures.Images();
        images.byRef.put("busybox", TestFixtures.image("sha256:" + "ab".repeat(32), lower,
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

    private static long millisOf(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void statusListAndStatsAnswerWhileAStopWaitsOutItsGracePeriod() throws Exception {
        String id = service.create("pod1", ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName("stubborn"))
                .setImage(ImageSpec.newBuilder().setImage("busybox"))
                .addAllCommand(List.of("sh", "-c", "trap '' TERM; touch /tmp/ready; while true; do sleep 1; done"))
                .setLogPath("stubborn/0.log").build());
        service.start(id);
        int pid = service.status(id).pid();
        Path ready = Path.of("/proc/" + pid + "/root/tmp/ready");
        for (int i = 0; i < 100 && !Files.exists(ready); i++) {
            Thread.sleep(50);
        }
        assertTrue(Files.exists(ready), "the container did not start its trap");

        CompletableFuture<Void> stop = CompletableFuture.runAsync(() -> service.stop(id, 30), OWN_THREAD);
        for (int i = 0; i < 100 && service.lockedContainers() == 0; i++) {
            Thread.sleep(10);
        }
        Thread.sleep(300); // SIGTERM sent and ignored: the stop now waits out its grace period
        assertFalse(stop.isDone(), "the container should ignore SIGTERM");
        for (int round = 0; round < 3; round++) {
            long status = millisOf(() -> assertEquals(Phase.RUNNING, service.status(id).phase()));
            long list = millisOf(() -> assertTrue(service.list(null).stream().anyMatch(r -> r.id().equals(id))));
            long stats = millisOf(() -> assertEquals(1, service.usage(id, null, Map.of()).size()));
            assertTrue(status < 1000 && list < 1000 && stats < 1000, "reads waited for the stop: status " + status
                    + " ms, list " + list + " ms, stats " + stats + " ms");
        }
        assertFalse(stop.isDone());

        // end the grace period early: the stop notices the exit and returns
        Processes.kill(pid, Processes.SIGKILL);
        stop.get(15, TimeUnit.SECONDS);
        ContainerRecord after = service.status(id);
        assertEquals(Phase.EXITED, after.phase());
        assertEquals(0, service.lockedContainers());
        service.remove(id);
    }
}
