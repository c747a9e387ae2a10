package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.cni.CniNetworks;
import dev.berth.cni.CniSettings;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.runtime.sandbox.SandboxSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;

/**
 * CreateContainer holds its pod (shared) until the container is recorded, so a RemovePodSandbox
 * racing it either removes the new container too or comes first and the create finds no pod: never
 * a container record, cgroup, root filesystem or conmon left behind for a pod that is gone. Real
 * SandboxManager (host namespaces) and ContainerService with runc under conmon.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CreateRacesRemovePodTest {
    private static final int ROUNDS = 16;
    private static final int LOOKUP_MILLIS = 40;

    /** A thread per task: never queued behind another test's work in the common pool. */
    private static final java.util.concurrent.Executor OWN_THREAD = r -> Thread.ofVirtual().start(r);

    private Path tmp;
    private StateStore store;
    private ContainerService containers;
    private SandboxManager pods;
    private CgroupManager cgroups;
    private final String parent = "/berth-race-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void setUp() throws Exception {
        TestFixtures.assumeContainerHost();
        tmp = Files.createTempDirectory("berth-race-test");
        Path lower = TestFixtures.busyboxRootfs(tmp.resolve("image/rootfs"));
        // A slow image store: the image lookup comes after CreateContainer found its pod, so the
        // removal below lands while the create is past its pod check and before its record exists.
        TestFixtures.Images images = new TestFixtures.Images() {
            @Override
            public java.util.Optional<dev.berth.image.LocalImage> find(String reference) {
                try {
                    Thread.sleep(LOOKUP_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.find(reference);
            }
        };
        images.byRef.put("busybox", TestFixtures.image("sha256:" + "ab".repeat(32), lower,
                TestFixtures.config(List.of(), List.of("sh"), "")));
        store = StateStore.open(tmp.resolve("state"));
        cgroups = new CgroupManager(Path.of("/sys/fs/cgroup"), new CgroupfsDriver(), false);
        AtomicReference<ContainerService> ref = new AtomicReference<>();
        CniNetworks cni = new CniNetworks(new CniSettings(tmp.resolve("net.d"), List.of(Path.of("/usr/lib/cni")),
                tmp.resolve("cni"), "10.68.0.0/24", "brace0"), dev.berth.linux.host.LinuxHost.system());
        pods = new SandboxManager(store, new SandboxSettings(tmp.resolve("run"), Path.of("/sys/fs/cgroup"),
                Set.of("runc"), "runc"), cni, ref::get, dev.berth.linux.host.LinuxHost.system());
        containers = TestFixtures.service(tmp, store, cgroups, images, pods, Map.of("runc", TestFixtures.RUNC));
        ref.set(containers);
    }

    @AfterAll
    void tearDown() throws Exception {
        if (pods != null) {
            for (String id : pods.ids()) {
                pods.remove(id);
            }
        }
        if (containers != null) {
            TestFixtures.cleanUp(containers, store, cgroups, parent, tmp);
        }
    }

    private PodSandboxConfig pod(int round) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName("race").setNamespace("ns").setUid("u" + round))
                .setHostname("race")
                .setLogDirectory(tmp.resolve("logs/" + round).toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(parent + "/pod" + round)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
                                NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)
                                        .setIpc(NamespaceMode.NODE).setPid(NamespaceMode.CONTAINER))))
                .build();
    }

    @Test
    void aPodRemovedWhileAContainerIsCreatedLeavesNothingBehind() throws Exception {
        Random random = new Random(7);
        int created = 0;
        int refused = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String podId = pods.run(pod(round), "runc");
            ContainerConfig c = ContainerConfig.newBuilder()
                    .setMetadata(ContainerMetadata.newBuilder().setName("c"))
                    .setImage(ImageSpec.newBuilder().setImage("busybox"))
                    .addAllCommand(List.of("sleep", "1000")).setLogPath("c/0.log").build();
            CompletableFuture<String> create = CompletableFuture.supplyAsync(() -> containers.create(podId, c), OWN_THREAD);
            Thread.sleep(5 + random.nextInt(LOOKUP_MILLIS));
            pods.remove(podId);
            try {
                create.get(30, TimeUnit.SECONDS);
                created++;
            } catch (java.util.concurrent.ExecutionException e) {
                BerthException b = (BerthException) e.getCause();
                assertTrue(b.kind() == ErrorKind.NOT_FOUND || b.kind() == ErrorKind.FAILED_PRECONDITION, b.toString());
                refused++;
            }
            assertTrue(pods.ids().isEmpty(), "the pod is still known");
            List<String> left = new ArrayList<>();
            containers.list(null).forEach(r -> left.add("listed " + r.id()));
            store.list(ContainerRecord.KIND, ContainerRecord.class).forEach(r -> left.add("record " + r.id()
                    + " " + r.phase()));
            if (Files.isDirectory(tmp.resolve("containers"))) {
                try (Stream<Path> dirs = Files.list(tmp.resolve("containers"))) {
                    dirs.forEach(d -> left.add("directory " + d));
                }
            }
            Path podCgroup = Path.of("/sys/fs/cgroup" + parent + "/pod" + round);
            if (Files.exists(podCgroup)) {
                left.add("cgroup " + podCgroup);
            }
            assertEquals(List.of(), left, "round " + round + " left an orphan");
        }
        assertEquals(ROUNDS, created + refused);
        System.out.printf("create raced RemovePodSandbox %d times: %d created (then removed with the pod), %d refused%n",
                ROUNDS, created, refused);
    }
}
