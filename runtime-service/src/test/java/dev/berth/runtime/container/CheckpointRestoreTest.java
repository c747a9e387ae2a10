package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.state.StateStore;
import dev.berth.linux.RuntimeCommand;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import dev.berth.image.LocalImage;
import dev.berth.runtime.checkpoint.CheckpointSource;
import dev.berth.runtime.checkpoint.CriuSupport;
import dev.berth.runtime.checkpoint.PodCheckpoint;
import dev.berth.runtime.checkpoint.PodRestore;
import dev.berth.runtime.container.ContainerRecord.Phase;
import java.nio.charset.StandardCharsets;
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
import runtime.v1.PodSandboxConfig;
import runtime.v1.RestorePodRequest;
import runtime.v1.RestorePodResponse;

/**
 * Checkpoint → remove → restore of a counter whose count lives only in the shell's memory: the
 * restored container goes on counting from where the checkpoint left it (a fresh start would
 * begin at 1), with the writable layer's changes back in place; the same from a checkpoint image,
 * and for a pod of two containers through CheckpointPod/RestorePod. Needs a host where
 * {@code criu check} passes: the cgroup v2 VM (CheckpointInVmTest runs it there); skipped elsewhere.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CheckpointRestoreTest {
    private Path tmp;
    private StateStore store;
    private ContainerService service;
    private CgroupManager cgroups;
    private TestFixtures.Images images;
    private TestFixtures.Pods pods;
    private final String podCgroup = "/berth-ckpt-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void setUp() throws Exception {
        TestFixtures.assumeContainerHost();
        CriuSupport criu = CriuSupport.host();
        assumeTrue(criu.available(), "CRIU cannot work here: " + criu.reason());
        tmp = Files.createTempDirectory("berth-ckpt-test");
        Path lower = TestFixtures.busyboxRootfs(tmp.resolve("image/rootfs"));
        images = new TestFixtures.Images();
        images.byRef.put("busybox", TestFixtures.image("sha256:" + "cd".repeat(32), lower,
                TestFixtures.config(List.of(), List.of("sh"), "")));
        pods = new TestFixtures.Pods();
        pods.byId.put("pod1", TestFixtures.pod("pod1", tmp.resolve("pods/pod1"), podCgroup, ""));
        store = StateStore.open(tmp.resolve("state"));
        cgroups = new CgroupManager(Path.of("/sys/fs/cgroup"), new CgroupfsDriver(), true);
        service = TestFixtures.service(tmp, store, cgroups, images, pods, Map.of("runc", TestFixtures.RUNC));
    }

    @AfterAll
    void tearDown() throws Exception {
        TestFixtures.cleanUp(service, store, cgroups, podCgroup, tmp);
    }

    private static ContainerConfig cfg(String name, String image) {
        return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addAllCommand(List.of("sh", "-c", "echo kept > /marker; rm /etc/group; i=0; "
                        + "while true; do i=$((i+1)); echo $i > /count; sleep 1; done"))
                .setLogPath(name + ".log").build();
    }

    /**
     * The container's count now. The shell's {@code echo $i > /count} truncates before it writes,
     * so a read can find the file empty for an instant: read again then.
     */
    private int count(String id) throws InterruptedException {
        for (int attempt = 0; ; attempt++) {
            var r = service.execSync(id, List.of("cat", "/count"), 20);
            assertEquals(0, r.exitCode(), new String(r.stderr(), StandardCharsets.UTF_8));
            String out = new String(r.stdout(), StandardCharsets.UTF_8).strip();
            if (!out.isEmpty() || attempt == 5) {
                return Integer.parseInt(out);
            }
            Thread.sleep(50);
        }
    }

    private int awaitCount(String id, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                int c = count(id);
                if (c >= atLeast) {
                    return c;
                }
            } catch (RuntimeException | AssertionError notYet) {
                // the first write has not happened yet
            }
            Thread.sleep(300);
        }
        throw new AssertionError("count of " + id + " never reached " + atLeast);
    }

    @Test
    void counterKeepsItsCountAcrossCheckpointRemoveRestore() throws Exception {
        String id = service.create("pod1", cfg("counter", "busybox"));
        service.start(id);
        awaitCount(id, 6);

        Path archive = tmp.resolve("counter-checkpoint.tar");
        service.checkpoint(id, archive.toString(), 300);
        assertEquals(Phase.RUNNING, service.status(id).phase(), "the checkpointed container keeps running");
        int atCheckpoint = count(id);
        String listing = RuntimeCommand.run(List.of("tar", "-tf", archive.toString())).out();
        for (String entry : List.of("checkpoint/", "config.dump", "spec.dump", "rootfs-diff.tar",
                "deleted.files", "checkpoint/pages-1.img")) {
            assertTrue(listing.lines().anyMatch(l -> l.equals(entry)), entry + " missing from:\n" + listing);
        }
        String deleted = RuntimeCommand.run(List.of("tar", "-xOf", archive.toString(), "deleted.files")).out();
        assertTrue(deleted.contains("etc/group"), deleted);
        service.remove(id);

        String restored = service.create("pod1", cfg("counter-restored", archive.toString()));
        assertEquals("busybox", service.status(restored).image(), "the restored container names its image");
        service.start(restored);
        ContainerRecord running = service.status(restored);
        assertEquals(Phase.RUNNING, running.phase());
        String procCgroup = Files.readString(Path.of("/proc/" + running.pid() + "/cgroup")).strip();
        try (var tree = Files.walk(Path.of("/sys/fs/cgroup" + podCgroup))) {
            System.out.println("pod cgroup tree after restore: " + tree.filter(Files::isDirectory).toList());
        }
        assertEquals("0::" + running.cgroup(), procCgroup, "the restored process runs in its new cgroup");
        int after = awaitCount(restored, atCheckpoint + 2);
        // A fresh process would have started over at 1; the restored one went on from its memory.
        assertTrue(after > atCheckpoint, "count " + after + " after restore, " + atCheckpoint + " at checkpoint");
        var marker = service.execSync(restored, List.of("cat", "/marker"), 20);
        assertEquals("kept", new String(marker.stdout(), StandardCharsets.UTF_8).strip());
        var group = service.execSync(restored, List.of("cat", "/etc/group"), 20);
        assertNotEquals(0, group.exitCode(), "a file deleted before the checkpoint stays deleted");
        service.stop(restored, 5);
        assertEquals(Phase.EXITED, service.status(restored).phase());

        // The same checkpoint as an image (CRI-O's checkpoint image: the archive's files as its layer,
        // the manifest annotation naming the container) restores the same way.
        Path layer = Files.createDirectories(tmp.resolve("checkpoint-image/layer"));
        assertEquals(0, RuntimeCommand.run(List.of("tar", "-xf", archive.toString(), "-C", layer.toString()))
                .exitCode());
        images.byRef.put("localhost/counter-checkpoint:1", new LocalImage("sha256:" + "ee".repeat(32),
                List.of("localhost/counter-checkpoint:1"), List.of(), 1, TestFixtures.config(List.of(), List.of(), ""),
                List.of(layer), Map.of(CheckpointSource.IMAGE_ANNOTATION, "counter")));
        String fromImage = service.create("pod1", cfg("counter-from-image", "localhost/counter-checkpoint:1"));
        assertEquals("busybox", service.status(fromImage).image(), "restored onto the image the container ran");
        service.start(fromImage);
        int afterImage = awaitCount(fromImage, atCheckpoint + 2);
        assertTrue(afterImage > atCheckpoint, "count " + afterImage + " after restore from the checkpoint image, "
                + atCheckpoint + " at checkpoint");
        service.stop(fromImage, 5);
    }

    @Test
    void podKeepsItsCountsAcrossCheckpointPodRemoveRestorePod() throws Exception {
        String a = service.create("pod1", cfg("pod-a", "busybox"));
        String b = service.create("pod1", cfg("pod-b", "busybox"));
        service.start(a);
        service.start(b);
        awaitCount(a, 4);
        awaitCount(b, 4);

        Path dir = Files.createDirectories(tmp.resolve("pod-checkpoint"));
        PodCheckpoint.write(new PodCheckpoint.Pod("pod1", "p", "ns", "pod1", 0, ""),
                List.of(service.checkpointSource(a), service.checkpointSource(b)), dir,
                System.nanoTime() + 600_000_000_000L, CriuSupport.host());
        assertEquals(Phase.RUNNING, service.status(a).phase(), "thawed and running after the pod checkpoint");
        assertEquals(Phase.RUNNING, service.status(b).phase());
        int countA = count(a);
        int countB = count(b);
        int laterA = awaitCount(a, countA + 1);
        assertTrue(laterA > countA, "container a counts on after the checkpoint (thawed)");
        for (String f : List.of("pod.dump", "containers/pod-a.tar", "containers/pod-b.tar")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f + " in " + dir);
        }
        service.remove(a);
        service.remove(b);

        RestorePodRequest req = RestorePodRequest.newBuilder().setCheckpointPath(dir.toString())
                .setConfig(pods.byId.get("pod1").config())
                .addContainerConfigs(cfg("pod-a", "busybox")).addContainerConfigs(cfg("pod-b", "busybox")).build();
        List<String> removed = new java.util.ArrayList<>();
        PodRestore.Pods fakePods = new PodRestore.Pods() {
            @Override
            public String run(PodSandboxConfig config, String handler) {
                try {
                    pods.byId.put("pod2", TestFixtures.pod("pod2", tmp.resolve("pods/pod2"), podCgroup, ""));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return "pod2";
            }

            @Override
            public java.util.Optional<dev.berth.runtime.sandbox.SandboxView> find(String podId) {
                return pods.find(podId);
            }

            @Override
            public void remove(String podId) {
                removed.add(podId);
            }
        };
        RestorePodResponse resp = PodRestore.restore(req, fakePods, service::create, images, CriuSupport.host());
        assertEquals("pod2", resp.getPodSandboxId());
        assertEquals(List.of(), removed);
        assertEquals(2, resp.getRestoredContainersCount());
        for (var rc : resp.getRestoredContainersList()) {
            assertEquals(Phase.CREATED, service.status(rc.getContainerId()).phase(), rc.getName() + " is created");
            service.start(rc.getContainerId());
        }
        for (var rc : resp.getRestoredContainersList()) {
            int at = rc.getName().equals("pod-a") ? countA : countB;
            int after = awaitCount(rc.getContainerId(), at + 2);
            assertTrue(after > at, rc.getName() + ": count " + after + " after RestorePod, " + at + " at checkpoint");
            service.stop(rc.getContainerId(), 5);
        }
    }
}
