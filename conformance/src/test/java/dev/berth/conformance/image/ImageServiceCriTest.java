package dev.berth.conformance.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.OptOut;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.ReferenceContainerd;
import dev.berth.conformance.harness.TestImages;
import dev.berth.conformance.harness.TestImages.Layer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import runtime.v1.AuthConfig;
import runtime.v1.Image;
import runtime.v1.ImageFilter;
import runtime.v1.ImageFsInfoRequest;
import runtime.v1.ImageFsInfoResponse;
import runtime.v1.ImageServiceGrpc.ImageServiceBlockingStub;
import runtime.v1.ImageSpec;
import runtime.v1.ImageStatusRequest;
import runtime.v1.ImageStatusResponse;
import runtime.v1.ListImagesRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveImageRequest;

/**
 * The CRI ImageService of a real berth daemon, and the same pull tests against Debian's containerd
 * (containerd-ref, a private instance whose registry is this test's) so they encode real CRI
 * behaviour. When containerd cannot run here its cases fail, saying why; set BERTH_SKIP_CONTAINERD=1
 * to run against berth only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class ImageServiceCriTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LocalRegistry reg;
    private BerthDaemon berth;
    private ReferenceContainerd containerd;
    /** Why containerd is not there although the tests need it (the containerd cases fail with it). */
    private String containerdMissing;
    private Path refRoot;
    /** The registries.conf pointing berth at the test registry (a temp file, removed afterwards). */
    private Path conf;
    private TestImages.Pushed busybox;
    private TestImages.Pushed zstd;
    private TestImages.Pushed withUid;
    private TestImages.Pushed withName;
    private TestImages.Pushed amd64;
    private TestImages.Pushed index;
    private TestImages.Pushed big;

    @BeforeAll
    void start() throws Exception {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (apt-get install docker-registry)");
        assumeTrue(TestImages.available(), "/bin/busybox is missing (apt-get install busybox-static)");
        reg = LocalRegistry.start();
        busybox = TestImages.pushBusybox(reg, "library/busybox", "1.36");
        zstd = TestImages.image().layer(TestImages.busyboxLayer()).layer(new Layer().file("/z", "zstd", 0644))
                .compression(TestImages.Compression.ZSTD).push(reg, "test/zstd", "v1");
        withUid = TestImages.image().layer(TestImages.busyboxLayer()).user("1000:1000").push(reg, "test/uid", "v1");
        withName = TestImages.image().layer(TestImages.busyboxLayer()).user("app").push(reg, "test/username", "v1");
        amd64 = TestImages.image().layer(TestImages.busyboxLayer()).label("arch", "amd64").push(reg, "test/multi", "amd64");
        TestImages.Pushed arm = TestImages.image().layer(new Layer().file("/arm", "arm", 0644)).platform("linux/arm64/v8")
                .push(reg, "test/multi", "arm64");
        Map<TestImages.Pushed, String> platforms = new LinkedHashMap<>();
        platforms.put(arm, "linux/arm64/v8");
        platforms.put(amd64, "linux/amd64");
        index = TestImages.pushIndex(reg, "test/multi", "latest", platforms);
        big = TestImages.image().layer(TestImages.busyboxLayer())
                .layer(new Layer().randomFile("/big1", 40L << 20, 11))
                .layer(new Layer().randomFile("/big2", 40L << 20, 12))
                .push(reg, "test/big", "v1");

        conf = Files.createTempFile("berth-registries-", ".conf");
        Files.writeString(conf, """
                [[registry]]
                location = "docker.io"
                [[registry.mirror]]
                location = "%s"
                insecure = true
                """.formatted(reg.host()));
        berth = BerthDaemon.start(Map.of("BERTH_REGISTRIES_CONF", conf.toString()));

        if (OptOut.CONTAINERD.isSet()) {
            return;
        }
        if (!ReferenceContainerd.available()) {
            containerdMissing = "containerd or " + ReferenceContainerd.script() + " is missing" + OptOut.CONTAINERD.hint();
            return;
        }
        String tag = Long.toString(ProcessHandle.current().pid());
        refRoot = Path.of("/tmp/berth-ref-image-" + tag);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("REF_ROOT", refRoot.toString());
        env.put("REF_RUN", "/run/berth-ref-image-" + tag);
        env.put("REF_BRIDGE", "refimg" + (Integer.parseInt(tag) % 10000));
        env.put("REF_SUBNET", "10.93.0.0/16");
        env.put("REF_CGROUP_PARENT", "berth-ref-image-" + tag);
        env.put("REF_REGISTRY", reg.host());
        try {
            containerd = ReferenceContainerd.start(env);
        } catch (RuntimeException e) {
            // The berth half still runs; every containerd case fails with this reason.
            containerdMissing = "containerd-ref did not start" + OptOut.CONTAINERD.hint() + ": " + e.getMessage();
            deleteTree(refRoot);
        }
    }

    @AfterAll
    void stop() throws java.io.IOException {
        if (conf != null) {
            Files.deleteIfExists(conf);
        }
        if (containerd != null) {
            containerd.close();
            deleteTree(refRoot);
        }
        if (berth != null) {
            berth.close();
        }
        if (reg != null) {
            reg.close();
        }
    }

    /** Both runtimes; containerd only opted out by BERTH_SKIP_CONTAINERD, never dropped silently. */
    Stream<String> targets() {
        return OptOut.CONTAINERD.isSet() ? Stream.of("berth") : Stream.of("berth", "containerd");
    }

    private ImageServiceBlockingStub images(String target) {
        if (target.equals("containerd") && containerd == null) {
            fail(containerdMissing);
        }
        CriClient c = target.equals("berth") ? berth.client() : containerd.client();
        return c.images().withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    private static ImageSpec spec(String image) {
        return ImageSpec.newBuilder().setImage(image).build();
    }

    private static String pull(ImageServiceBlockingStub s, String image) {
        return s.pullImage(PullImageRequest.newBuilder().setImage(spec(image)).build()).getImageRef();
    }

    private static ImageStatusResponse status(ImageServiceBlockingStub s, String image) {
        return s.imageStatus(ImageStatusRequest.newBuilder().setImage(spec(image)).build());
    }

    private static void remove(ImageServiceBlockingStub s, String image) {
        s.removeImage(RemoveImageRequest.newBuilder().setImage(spec(image)).build());
    }

    // ---- the same tests against berth and containerd ----

    @ParameterizedTest
    @MethodSource("targets")
    void pullByTagAndStatus(String target) {
        ImageServiceBlockingStub s = images(target);
        String id = pull(s, busybox.reference());
        assertEquals(busybox.configDigest(), id, target);
        Image img = status(s, busybox.reference()).getImage();
        assertEquals(id, img.getId());
        assertTrue(img.getRepoTagsList().contains(busybox.reference()), target + " " + img.getRepoTagsList());
        assertTrue(img.getRepoDigestsList().contains(busybox.digestReference()), target + " " + img.getRepoDigestsList());
        assertTrue(img.getSize() > 500_000, target + " size " + img.getSize());
        System.out.printf("[%s] busybox size reported: %d (pushed %d)%n", target, img.getSize(), busybox.size());
        assertEquals(id, status(s, id).getImage().getId(), "by id");
    }

    @ParameterizedTest
    @MethodSource("targets")
    void pullByDigest(String target) {
        ImageServiceBlockingStub s = images(target);
        assertEquals(zstd.configDigest(), pull(s, zstd.digestReference()), target);
        Image img = status(s, zstd.digestReference()).getImage();
        assertEquals(zstd.configDigest(), img.getId());
        assertTrue(img.getRepoDigestsList().contains(zstd.digestReference()), img.getRepoDigestsList().toString());
    }

    @ParameterizedTest
    @MethodSource("targets")
    void shortNamesAreNormalized(String target) {
        ImageServiceBlockingStub s = images(target);
        assertEquals(busybox.configDigest(), pull(s, "busybox:1.36"), target);
        Image img = status(s, "busybox:1.36").getImage();
        assertTrue(img.getRepoTagsList().contains("docker.io/library/busybox:1.36"), img.getRepoTagsList().toString());
        assertEquals(busybox.configDigest(), status(s, "docker.io/library/busybox:1.36").getImage().getId());
    }

    @ParameterizedTest
    @MethodSource("targets")
    void multiArchIndexResolvesToAmd64(String target) {
        ImageServiceBlockingStub s = images(target);
        assertEquals(amd64.configDigest(), pull(s, index.reference()), target);
        Image img = status(s, index.reference()).getImage();
        assertTrue(img.getRepoDigestsList().contains(index.digestReference()), img.getRepoDigestsList().toString());
    }

    @ParameterizedTest
    @MethodSource("targets")
    void imageUserBecomesUidOrUsername(String target) {
        ImageServiceBlockingStub s = images(target);
        pull(s, withUid.reference());
        Image a = status(s, withUid.reference()).getImage();
        assertTrue(a.hasUid(), target);
        assertEquals(1000, a.getUid().getValue());
        assertEquals("", a.getUsername());
        pull(s, withName.reference());
        Image b = status(s, withName.reference()).getImage();
        assertFalse(b.hasUid(), target);
        assertEquals("app", b.getUsername());
    }

    @ParameterizedTest
    @MethodSource("targets")
    void absentImagesAreEmptyStatusAndRemovingThemSucceeds(String target) {
        ImageServiceBlockingStub s = images(target);
        assertFalse(status(s, reg.host() + "/never/pulled:1").hasImage(), target);
        remove(s, reg.host() + "/never/pulled:1");
        if (target.equals("berth")) {
            // containerd 1.6 ignores ListImages' filter (it returns every image); berth applies it.
            assertEquals(0, s.listImages(ListImagesRequest.newBuilder().setFilter(ImageFilter.newBuilder()
                    .setImage(spec(reg.host() + "/never/pulled:1"))).build()).getImagesCount());
        }
    }

    @ParameterizedTest
    @MethodSource("targets")
    void unknownTagOrRepositoryFails(String target) {
        ImageServiceBlockingStub s = images(target);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> pull(s, reg.host() + "/library/busybox:nope"));
        StatusRuntimeException e2 = assertThrows(StatusRuntimeException.class, () -> pull(s, reg.host() + "/no/such:1"));
        System.out.printf("[%s] unknown tag: %s%n[%s] unknown repo: %s%n", target, e.getStatus(), target, e2.getStatus());
        if (target.equals("berth")) {
            assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.getMessage());
            assertEquals(Status.Code.NOT_FOUND, e2.getStatus().getCode(), e2.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("targets")
    void malformedReferenceFails(String target) {
        ImageServiceBlockingStub s = images(target);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> pull(s, "Not//A:Valid Ref"));
        System.out.printf("[%s] malformed: %s%n", target, e.getStatus());
        if (target.equals("berth")) {
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("targets")
    void removeByTagThenByIdAndListFilter(String target) {
        ImageServiceBlockingStub s = images(target);
        String id = pull(s, withUid.reference());
        List<Image> filtered = s.listImages(ListImagesRequest.newBuilder().setFilter(ImageFilter.newBuilder()
                .setImage(spec(withUid.reference()))).build()).getImagesList();
        assertTrue(filtered.stream().anyMatch(i -> i.getId().equals(id)), target);
        if (target.equals("berth")) {
            assertEquals(1, filtered.size(), "berth applies the filter (containerd 1.6 ignores it)");
        }
        assertTrue(s.listImages(ListImagesRequest.getDefaultInstance()).getImagesList().stream()
                .anyMatch(i -> i.getId().equals(id)));
        remove(s, withUid.reference());
        assertFalse(status(s, withUid.reference()).hasImage(), target);
        pull(s, withUid.reference());
        remove(s, id);
        assertFalse(status(s, id).hasImage(), target);
    }

    @ParameterizedTest
    @MethodSource("targets")
    void imageFsInfoReportsTheStore(String target) {
        ImageServiceBlockingStub s = images(target);
        pull(s, busybox.reference());
        ImageFsInfoResponse r = s.imageFsInfo(ImageFsInfoRequest.getDefaultInstance());
        assertEquals(1, r.getImageFilesystemsCount(), target);
        var fs = r.getImageFilesystems(0);
        assertTrue(fs.getFsId().getMountpoint().startsWith("/"), target + " " + fs);
        if (target.equals("berth")) {
            // containerd 1.6 collects snapshot usage periodically and reports 0 right after a pull;
            // berth's figures are current at every call.
            assertTrue(fs.getUsedBytes().getValue() > 1_000_000, target + " " + fs);
            assertTrue(fs.getInodesUsed().getValue() > 10, target + " " + fs);
        }
        assertTrue(fs.getTimestamp() > 0);
    }

    // ---- berth only ----

    @Test
    void wrongCredentialsAreUnauthenticated() {
        try (LocalRegistry secured = LocalRegistry.startWithBasicAuth()) {
            TestImages.Pushed img = TestImages.pushBusybox(secured, "private/busybox", "1");
            ImageServiceBlockingStub s = images("berth");
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> s.pullImage(PullImageRequest.newBuilder()
                    .setImage(spec(img.reference())).setAuth(AuthConfig.newBuilder().setUsername(LocalRegistry.USER)
                            .setPassword("wrong")).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.getMessage());
            String id = s.pullImage(PullImageRequest.newBuilder().setImage(spec(img.reference()))
                    .setAuth(AuthConfig.newBuilder().setUsername(LocalRegistry.USER).setPassword(LocalRegistry.PASSWORD))
                    .build()).getImageRef();
            assertEquals(img.configDigest(), id);
        }
    }

    @Test
    void verboseStatusCarriesTheImageConfig() throws Exception {
        ImageServiceBlockingStub s = images("berth");
        pull(s, withUid.reference());
        ImageStatusResponse r = s.imageStatus(ImageStatusRequest.newBuilder().setImage(spec(withUid.reference()))
                .setVerbose(true).build());
        JsonNode info = JSON.readTree(r.getInfoOrThrow("info"));
        assertEquals("1000:1000", info.path("imageSpec").path("config").path("User").asText());
        assertEquals(withUid.diffIds().size(), info.path("lowerDirs").size());
    }

    @Test
    void metricsCountPulls() throws Exception {
        ImageServiceBlockingStub s = images("berth");
        pull(s, busybox.reference());
        assertThrows(StatusRuntimeException.class, () -> pull(s, reg.host() + "/library/busybox:missing"));
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(berth.httpUrl("/metrics")))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(metrics.contains("berth_image_pulls_total{result=\"success\"}"), metrics);
        assertTrue(metrics.contains("berth_image_pulls_total{result=\"not_found\"}"), metrics);
        assertTrue(metrics.contains("berth_image_pull_duration_seconds_bucket"), "histogram");
        assertTrue(metrics.contains("berth_image_pulled_bytes_total"), "bytes");
        assertTrue(metrics.contains("berth_image_store_bytes"), "store size");
    }

    @Test
    void concurrentPullsOfOneImageAgree() throws Exception {
        ImageServiceBlockingStub s = images("berth");
        List<Future<String>> fs = new ArrayList<>();
        try (ExecutorService ex = Executors.newFixedThreadPool(3)) {
            for (int i = 0; i < 3; i++) {
                fs.add(ex.submit(() -> pull(s, zstd.reference())));
            }
            for (Future<String> f : fs) {
                assertEquals(zstd.configDigest(), f.get());
            }
        }
    }

    @Test
    void killDuringPullLeavesNoHalfImageAndTheNextPullCompletes() throws Exception {
        Path layers = berth.root().resolve("images/layers");
        Thread puller = Thread.ofVirtual().start(() -> {
            try {
                pull(images("berth"), big.reference());
            } catch (StatusRuntimeException expected) {
                // the daemon dies under it
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        boolean caught = false;
        while (System.nanoTime() < deadline && !caught) {
            if (Files.isDirectory(layers)) {
                try (Stream<Path> st = Files.list(layers)) {
                    caught = st.anyMatch(p -> p.getFileName().toString().startsWith(".tmp-"));
                }
            }
            if (!caught) {
                Thread.sleep(5);
            }
        }
        berth.kill9();
        puller.join(30_000);
        berth.restart();
        ImageServiceBlockingStub s = images("berth");
        Image half = status(s, big.reference()).getImage();
        assertTrue(!status(s, big.reference()).hasImage() || half.getId().equals(big.configDigest()),
                "either absent or complete");
        try (Stream<Path> st = Files.list(layers)) {
            assertEquals(List.of(), st.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList(),
                    "temp dirs cleaned at start");
        }
        assertEquals(big.configDigest(), pull(s, big.reference()));
        assertTrue(Files.size(berth.root().resolve("images/layers").resolve(big.diffIds().get(2).substring(7)).resolve("big2"))
                == 40L << 20);
        assertTrue(caught, "the kill happened while a layer was being unpacked");
    }

    @Test
    void pulledImagesSurviveARestart() throws Exception {
        ImageServiceBlockingStub s = images("berth");
        String id = pull(s, withName.reference());
        berth.kill9();
        berth.restart();
        assertEquals(id, status(images("berth"), withName.reference()).getImage().getId());
        assertNotEquals(0, images("berth").listImages(ListImagesRequest.getDefaultInstance()).getImagesCount());
    }

    private static void deleteTree(Path p) {
        if (p == null || !Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> {
                try {
                    Files.deleteIfExists(x);
                } catch (java.io.IOException e) {
                    // best effort
                }
            });
        } catch (java.io.IOException e) {
            // best effort
        }
    }
}
