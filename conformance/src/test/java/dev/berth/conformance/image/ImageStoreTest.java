package dev.berth.conformance.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import dev.berth.conformance.harness.TestImages.Compression;
import dev.berth.conformance.harness.TestImages.Layer;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.image.FsUsage;
import dev.berth.image.ImageManager;
import dev.berth.image.ImageView;
import dev.berth.image.LocalImage;
import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.linux.Mounts;
import dev.berth.linux.Xattrs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * image-service's store against a real docker-registry on 127.0.0.1 with images built by
 * {@link TestImages}: pull forms, formats, compression, layer contents as overlay sees them,
 * removal and garbage collection, persistence, concurrency, auth, registries.conf and bad inputs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ImageStoreTest {
    private LocalRegistry reg;
    private TestImages.Pushed busybox;
    @TempDir
    Path tmp;
    private StateStore state;
    private ImageManager images;

    @BeforeAll
    void startRegistry() {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (apt-get install docker-registry)");
        assumeTrue(TestImages.available(), "/bin/busybox is missing (apt-get install busybox-static)");
        assumeTrue("root".equals(System.getProperty("user.name")), "unpacking layers needs root (mknod, chown, trusted xattrs)");
        reg = LocalRegistry.start();
        busybox = TestImages.pushBusybox(reg, "library/busybox", "1.36");
    }

    @AfterAll
    void stopRegistry() {
        if (reg != null) {
            reg.close();
        }
    }

    @BeforeEach
    void openStore() {
        state = StateStore.open(tmp.resolve("state"));
        images = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images")), state, null);
    }

    @AfterEach
    void closeStore() {
        if (images != null) {
            images.close();
        }
        if (state != null) {
            state.close();
        }
    }

    private Path layersDir() {
        return tmp.resolve("images/layers");
    }

    private List<String> layerDirNames() throws IOException {
        try (Stream<Path> s = Files.list(layersDir())) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void pullByTagReturnsConfigDigestAndUnpacksBusybox() throws IOException {
        String id = images.pull(busybox.reference(), RegistryCredentials.NONE);
        assertEquals(busybox.configDigest(), id);
        ImageView v = images.status(busybox.reference()).orElseThrow();
        assertEquals(List.of(busybox.reference()), v.repoTags());
        assertEquals(List.of(busybox.digestReference()), v.repoDigests());
        assertTrue(v.size() >= busybox.size() - 1000 && v.size() > 500_000, "size " + v.size());
        LocalImage img = images.find(id).orElseThrow();
        assertEquals(1, img.lowerDirs().size());
        Path root = img.lowerDirs().getFirst();
        assertTrue(Files.isExecutable(root.resolve("bin/busybox")));
        assertEquals("busybox", Files.readSymbolicLink(root.resolve("bin/sh")).toString());
        assertEquals(List.of("sh"), img.config().cmd());
        // id prefix, short id, tag and digest forms resolve to the same image
        assertEquals(id, images.find(id.substring(7, 19)).orElseThrow().id());
        assertEquals(id, images.find(busybox.digestReference()).orElseThrow().id());
    }

    @Test
    void pullByDigestGivesTheSameImageWithoutATag() {
        String id = images.pull(busybox.digestReference(), RegistryCredentials.NONE);
        assertEquals(busybox.configDigest(), id);
        ImageView v = images.status(id).orElseThrow();
        assertEquals(List.of(), v.repoTags());
        assertEquals(List.of(busybox.digestReference()), v.repoDigests());
    }

    @Test
    void layerContentsAreOverlayReadyAndMountable() throws Exception {
        Layer top = new Layer()
                .whiteout("/bin/vi")
                .dir("/etc/app", 0750)
                .opaque("/etc/app")
                .file("/etc/app/conf", "new\n", 0640)
                .file("/bin/suid", "x", 04755)
                .hardlink("/bin/suid-link", "/bin/suid")
                .file("/data/owned", "o", 0600, 1000, 1001, Map.of("user.berth", "yes"))
                .charDevice("/dev/null2", 1, 3, 0666)
                .fifo("/run-fifo", 0600)
                .symlink("/etc/mtab", "/proc/mounts");
        Layer middle = new Layer().dir("/etc/app", 0755).file("/etc/app/old", "old\n", 0644)
                .randomFile("/data/big.bin", 24L << 20, 7);
        TestImages.Pushed img = TestImages.image()
                .layer(TestImages.busyboxLayer(), Compression.GZIP)
                .layer(middle, Compression.ZSTD)
                .layer(top, Compression.NONE)
                .push(reg, "test/layers", "v1");
        String id = images.pull(img.reference(), RegistryCredentials.NONE);
        LocalImage li = images.find(id).orElseThrow();
        assertEquals(3, li.lowerDirs().size());
        Path t = li.lowerDirs().get(0);
        // whiteout as a 0/0 char device, opaque dir as xattr
        assertEquals(0020000, (int) Files.getAttribute(t.resolve("bin/vi"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000);
        assertEquals(0L, ((Number) Files.getAttribute(t.resolve("bin/vi"), "unix:rdev", LinkOption.NOFOLLOW_LINKS)).longValue());
        assertArrayEquals("y".getBytes(), Xattrs.get(t.resolve("etc/app"), "trusted.overlay.opaque").orElseThrow());
        assertFalse(Files.exists(t.resolve("etc/app/.wh..wh..opq"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(04755, (int) Files.getAttribute(t.resolve("bin/suid"), "unix:mode") & 07777);
        assertEquals(Files.getAttribute(t.resolve("bin/suid"), "unix:ino"), Files.getAttribute(t.resolve("bin/suid-link"), "unix:ino"));
        assertEquals(1000, Files.getAttribute(t.resolve("data/owned"), "unix:uid"));
        assertEquals(1001, Files.getAttribute(t.resolve("data/owned"), "unix:gid"));
        assertArrayEquals("yes".getBytes(), Xattrs.get(t.resolve("data/owned"), "user.berth").orElseThrow());
        assertEquals(0750, (int) Files.getAttribute(t.resolve("etc/app"), "unix:mode") & 07777);
        assertEquals(1_700_000_000_000L, Files.getLastModifiedTime(t.resolve("etc/app")).toMillis());
        assertEquals(1_700_000_000_000L, Files.getLastModifiedTime(t.resolve("etc/mtab"), LinkOption.NOFOLLOW_LINKS).toMillis());
        assertEquals(0020000, (int) Files.getAttribute(t.resolve("dev/null2"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000);
        assertTrue(Files.isSymbolicLink(t.resolve("etc/mtab")));
        assertEquals(24L << 20, Files.size(li.lowerDirs().get(1).resolve("data/big.bin")));

        // What a container would see through overlayfs.
        Path merged = Files.createDirectories(tmp.resolve("merged"));
        String lower = String.join(":", li.lowerDirs().stream().map(Path::toString).toList());
        Mounts.mount("overlay", merged, "overlay", Mounts.MS_RDONLY, "lowerdir=" + lower);
        try {
            assertFalse(Files.exists(merged.resolve("bin/vi"), LinkOption.NOFOLLOW_LINKS), "whiteout hides bin/vi");
            assertTrue(Files.exists(merged.resolve("bin/sh"), LinkOption.NOFOLLOW_LINKS));
            assertEquals("new\n", Files.readString(merged.resolve("etc/app/conf")));
            assertFalse(Files.exists(merged.resolve("etc/app/old")), "opaque dir hides the lower layer's file");
            assertEquals(24L << 20, Files.size(merged.resolve("data/big.bin")));
        } finally {
            Mounts.unmount(merged, 0);
        }
    }

    @Test
    void dockerSchema2ImagesPull() {
        TestImages.Pushed img = TestImages.image().layer(TestImages.busyboxLayer())
                .format(TestImages.Format.DOCKER).push(reg, "test/docker", "v2");
        assertEquals(img.configDigest(), images.pull(img.reference(), RegistryCredentials.NONE));
    }

    @Test
    void indexChoosesLinuxAmd64() {
        TestImages.Pushed amd = TestImages.image().layer(TestImages.busyboxLayer()).label("arch", "amd64")
                .push(reg, "test/multi", "amd64");
        TestImages.Pushed arm = TestImages.image().layer(new Layer().file("/arm", "arm", 0644)).platform("linux/arm64/v8")
                .push(reg, "test/multi", "arm64");
        TestImages.Pushed armv7 = TestImages.image().layer(new Layer().file("/arm", "v7", 0644)).platform("linux/arm/v7")
                .push(reg, "test/multi", "armv7");
        Map<TestImages.Pushed, String> platforms = new LinkedHashMap<>();
        platforms.put(arm, "linux/arm64/v8");
        platforms.put(armv7, "linux/arm/v7");
        platforms.put(amd, "linux/amd64");
        TestImages.Pushed index = TestImages.pushIndex(reg, "test/multi", "latest", platforms);
        String id = images.pull(index.host() + "/test/multi", RegistryCredentials.NONE);
        assertEquals(amd.configDigest(), id);
        ImageView v = images.status(id).orElseThrow();
        assertEquals(List.of(index.reference()), v.repoTags());
        assertEquals(List.of(index.digestReference()), v.repoDigests(), "repo digest is the index's");
        assertEquals(id, images.find(amd.digestReference()).orElseThrow().id(), "platform manifest digest resolves too");
    }

    @Test
    void dockerManifestListChoosesLinuxAmd64() {
        TestImages.Pushed amd = TestImages.image().layer(TestImages.busyboxLayer()).format(TestImages.Format.DOCKER)
                .label("list", "amd64").push(reg, "test/dockerlist", "amd64");
        TestImages.Pushed arm = TestImages.image().layer(new Layer().file("/arm", "arm", 0644)).format(TestImages.Format.DOCKER)
                .platform("linux/arm/v7").push(reg, "test/dockerlist", "arm");
        Map<TestImages.Pushed, String> platforms = new LinkedHashMap<>();
        platforms.put(arm, "linux/arm/v7");
        platforms.put(amd, "linux/amd64");
        TestImages.Pushed list = TestImages.pushIndex(reg, "test/dockerlist", "latest", platforms, TestImages.Format.DOCKER);
        assertEquals(amd.configDigest(), images.pull(list.reference(), RegistryCredentials.NONE));
    }

    @Test
    void imageUserIsReported() {
        TestImages.Pushed img = TestImages.image().layer(TestImages.busyboxLayer()).user("1000:1000")
                .push(reg, "test/user", "v1");
        String id = images.pull(img.reference(), RegistryCredentials.NONE);
        assertEquals("1000:1000", images.status(id).orElseThrow().user());
        assertEquals("1000:1000", images.find(id).orElseThrow().config().user());
    }

    @Test
    void sharedLayerIsStoredOnceAndFreedWithItsLastImage() throws Exception {
        TestImages.Pushed second = TestImages.image().layer(TestImages.busyboxLayer())
                .layer(new Layer().file("/hello", "hi", 0644)).push(reg, "test/shared", "v1");
        String a = images.pull(busybox.reference(), RegistryCredentials.NONE);
        String b = images.pull(second.reference(), RegistryCredentials.NONE);
        assertNotEquals(a, b);
        assertEquals(2, layerDirNames().size(), "busybox layer stored once: " + layerDirNames());
        assertTrue(images.remove(a));
        assertEquals(1, images.list("").size());
        assertEquals(2, layerDirNames().size(), "the shared layer stays while image b uses it");
        assertTrue(images.remove(second.reference()));
        assertEquals(List.of(), layerDirNames());
        try (Stream<Path> s = Files.list(tmp.resolve("images/blobs/sha256"))) {
            assertEquals(0, s.count(), "manifests and configs are freed");
        }
        assertFalse(images.remove(a), "removing an absent image reports nothing removed");
    }

    @Test
    void layersMountedByAContainerOutliveTheirRemovedImage() throws Exception {
        String id = images.pull(busybox.reference(), RegistryCredentials.NONE);
        LocalImage li = images.find(id).orElseThrow();
        Path lower = li.lowerDirs().getFirst();
        Path merged = Files.createDirectories(tmp.resolve("rootfs"));
        Path upper = Files.createDirectories(tmp.resolve("upper"));
        Path work = Files.createDirectories(tmp.resolve("work"));
        Mounts.mount("overlay", merged, "overlay", 0, "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work);
        try {
            assertTrue(images.remove(id));
            assertTrue(images.status(id).isEmpty());
            assertTrue(Files.isDirectory(lower.resolve("bin")), "a mounted layer is kept");
            assertTrue(Files.isExecutable(merged.resolve("bin/busybox")));
        } finally {
            Mounts.unmount(merged, 0);
        }
        images.collectGarbage();
        assertFalse(Files.exists(lower), "freed once unmounted");
    }

    @Test
    void removingOneTagKeepsTheOthers() {
        TestImages.Pushed again = new TestImages.Pushed(busybox.host(), busybox.repository(), "stable",
                busybox.manifestDigest(), busybox.mediaType(), busybox.configDigest(), busybox.layerDigests(),
                busybox.diffIds(), busybox.size(), busybox.manifest());
        TestImages.pushBusybox(reg, "library/busybox", "stable");
        String id = images.pull(busybox.reference(), RegistryCredentials.NONE);
        assertEquals(id, images.pull(again.reference(), RegistryCredentials.NONE));
        assertEquals(2, images.status(id).orElseThrow().repoTags().size());
        assertTrue(images.remove(busybox.reference()));
        ImageView v = images.status(id).orElseThrow();
        assertEquals(List.of(again.reference()), v.repoTags());
        assertTrue(images.status(busybox.reference()).isEmpty());
        assertTrue(images.remove(again.reference()));
        assertTrue(images.status(id).isEmpty());
    }

    @Test
    void retaggingMovesTheTag() {
        TestImages.Pushed v1 = TestImages.image().layer(TestImages.busyboxLayer()).label("v", "1").push(reg, "test/moving", "latest");
        String first = images.pull(v1.reference(), RegistryCredentials.NONE);
        TestImages.Pushed v2 = TestImages.image().layer(TestImages.busyboxLayer()).label("v", "2").push(reg, "test/moving", "latest");
        String second = images.pull(v2.reference(), RegistryCredentials.NONE);
        assertNotEquals(first, second);
        assertEquals(List.of(), images.status(first).orElseThrow().repoTags());
        assertEquals(List.of(v2.reference()), images.status(second).orElseThrow().repoTags());
        assertEquals(2, images.list("").size());
        assertEquals(1, images.list(v2.reference()).size());
    }

    @Test
    void concurrentPullsDoTheWorkOnce() throws Exception {
        TestImages.Pushed img = TestImages.image().layer(TestImages.busyboxLayer())
                .layer(new Layer().randomFile("/a.bin", 8 << 20, 1)).layer(new Layer().randomFile("/b.bin", 8 << 20, 2))
                .push(reg, "test/concurrent", "v1");
        List<Future<String>> fs = new ArrayList<>();
        try (ExecutorService ex = Executors.newFixedThreadPool(4)) {
            for (int i = 0; i < 4; i++) {
                fs.add(ex.submit(() -> images.pull(img.reference(), RegistryCredentials.NONE)));
            }
            for (Future<String> f : fs) {
                assertEquals(img.configDigest(), f.get());
            }
        }
        assertEquals(3, layerDirNames().size());
        assertEquals(1, images.list("").size());
    }

    @Test
    void imagesSurviveARestartAndCrashDebrisIsCleaned() throws Exception {
        String id = images.pull(busybox.reference(), RegistryCredentials.NONE);
        images.close();
        state.close();
        // What a kill -9 mid-pull leaves: a half-unpacked temp dir, a finished layer dir never recorded, an ingest file.
        Files.createDirectories(layersDir().resolve(".tmp-deadbeef-1/bin"));
        Files.createDirectories(layersDir().resolve("0".repeat(64) + "/etc"));
        Files.writeString(tmp.resolve("images/blobs/ingest/partial.tmp"), "x");
        state = StateStore.open(tmp.resolve("state"));
        images = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images")), state, null);
        assertEquals(id, images.status(busybox.reference()).orElseThrow().id());
        assertTrue(Files.isDirectory(images.find(id).orElseThrow().lowerDirs().getFirst().resolve("bin")));
        assertEquals(1, layerDirNames().size(), "debris removed: " + layerDirNames());
        try (Stream<Path> s = Files.list(tmp.resolve("images/blobs/ingest"))) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void fsInfoReportsRealUsage() {
        FsUsage before = images.fsInfo();
        images.pull(busybox.reference(), RegistryCredentials.NONE);
        FsUsage after = images.fsInfo();
        assertEquals(Path.of("/"), Path.of("/").resolve(after.mountpoint()).getRoot());
        assertTrue(tmp.toAbsolutePath().startsWith(after.mountpoint()));
        assertTrue(after.usedBytes() - before.usedBytes() > 1_000_000, "busybox is > 1 MB unpacked: " + after);
        assertTrue(after.inodesUsed() - before.inodesUsed() > TestImages.APPLETS.size(), after.toString());
    }

    // ---- bad inputs ----

    private static ErrorKind kindOf(Runnable r) {
        return assertThrows(BerthException.class, r::run).kind();
    }

    @Test
    void malformedReferencesAreInvalidArguments() {
        for (String bad : List.of("", "UPPER/case", "busybox:bad tag", "busybox@sha256:123", "a//b", "busybox:", ":tag")) {
            BerthException e = assertThrows(BerthException.class, () -> images.pull(bad, RegistryCredentials.NONE), bad);
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), bad + ": " + e.getMessage());
        }
    }

    @Test
    void unknownRepositoryOrTagIsNotFound() {
        BerthException e = assertThrows(BerthException.class,
                () -> images.pull(reg.host() + "/library/busybox:nope", RegistryCredentials.NONE));
        assertEquals(ErrorKind.NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains("MANIFEST_UNKNOWN") || e.getMessage().contains("not found"), e.getMessage());
        assertEquals(ErrorKind.NOT_FOUND, kindOf(() -> images.pull(reg.host() + "/no/such/repo:1", RegistryCredentials.NONE)));
    }

    @Test
    void unreachableRegistryIsUnavailable() throws Exception {
        int closed;
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        BerthException e = assertThrows(BerthException.class,
                () -> images.pull("127.0.0.1:" + closed + "/library/busybox:1", RegistryCredentials.NONE));
        assertEquals(ErrorKind.UNAVAILABLE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("unreachable"), e.getMessage());
    }

    @Test
    void corruptedBlobFailsThePullAndLeavesNothing() throws Exception {
        TestImages.Pushed img = TestImages.image().layer(TestImages.busyboxLayer())
                .layer(new Layer().randomFile("/payload", 2 << 20, 99)).push(reg, "test/corrupt", "v1");
        reg.corruptBlob(img.layerDigests().get(1));
        BerthException e = assertThrows(BerthException.class, () -> images.pull(img.reference(), RegistryCredentials.NONE));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("failed verification") || e.getMessage().contains("diff_id"), e.getMessage());
        assertTrue(images.list("").isEmpty());
        assertTrue(layerDirNames().stream().noneMatch(n -> n.startsWith(".tmp")), layerDirNames().toString());
        assertFalse(layerDirNames().contains(img.diffIds().get(1).substring(7)));
    }

    @Test
    void maliciousLayersAreRefusedAndWriteNothingOutside() throws Exception {
        Path outside = tmp.resolve("outside");
        Files.createDirectories(outside);
        Map<String, Layer> evil = new LinkedHashMap<>();
        evil.put("dotdot", new Layer().rawFile("../../../../../../" + outside.toString().substring(1) + "/dotdot", "pwned"));
        evil.put("absolute", new Layer().rawFile(outside + "/absolute", "pwned"));
        evil.put("symlink", new Layer().rawSymlink("escape", outside.toString()).rawFile("escape/symlink", "pwned"));
        evil.put("relsymlink", new Layer().rawSymlink("up", "../../../../../../../..").rawFile("up/" + outside.toString().substring(1)
                + "/relsymlink", "pwned"));
        evil.put("hardlink", new Layer().rawHardlink("passwd", "../../../../../../../../etc/passwd"));
        int i = 0;
        for (Map.Entry<String, Layer> e : evil.entrySet()) {
            TestImages.Pushed img = TestImages.image().layer(e.getValue()).push(reg, "test/evil", "v" + i++);
            BerthException ex = assertThrows(BerthException.class, () -> images.pull(img.reference(), RegistryCredentials.NONE),
                    e.getKey());
            assertEquals(ErrorKind.PERMISSION_DENIED, ex.kind(), e.getKey() + ": " + ex.getMessage());
            assertTrue(ex.getMessage().contains("malicious layer"), ex.getMessage());
        }
        try (Stream<Path> s = Files.list(outside)) {
            assertEquals(List.of(), s.toList());
        }
        assertTrue(images.list("").isEmpty());
        assertEquals(List.of(), layerDirNames());
    }

    @Test
    void aRegistryThatStopsSendingFailsThePullInsteadOfHangingIt() throws Exception {
        TestImages.Pushed img = TestImages.image().layer(new Layer().randomFile("/payload", 4 << 20, 3))
                .push(reg, "test/stall", "v1");
        String layer = img.layerDigests().getFirst();
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        // A front that serves everything from the registry, except that the layer stops after 64 KiB.
        com.sun.net.httpserver.HttpServer front = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 16);
        front.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        front.createContext("/", ex -> {
            try (ex) {
                var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + reg.host() + ex.getRequestURI()));
                String accept = ex.getRequestHeaders().getFirst("Accept");
                if (accept != null) {
                    req.header("Accept", accept);
                }
                var r = http.send(req.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
                r.headers().firstValue("Content-Type").ifPresent(v -> ex.getResponseHeaders().add("Content-Type", v));
                byte[] body = r.body();
                ex.sendResponseHeaders(r.statusCode(), body.length == 0 ? -1 : body.length);
                if (ex.getRequestURI().getPath().endsWith(layer)) {
                    ex.getResponseBody().write(body, 0, 65536);
                    ex.getResponseBody().flush();
                    Thread.sleep(20_000);
                    return;
                }
                ex.getResponseBody().write(body);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        front.start();
        try {
            images.close();
            images = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images"))
                    .withStallTimeout(java.time.Duration.ofSeconds(2)), state, null);
            long t0 = System.nanoTime();
            BerthException e = assertThrows(BerthException.class, () -> images.pull("127.0.0.1:"
                    + front.getAddress().getPort() + "/test/stall:v1", RegistryCredentials.NONE));
            assertEquals(ErrorKind.UNAVAILABLE, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("sent no data"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < 15_000_000_000L, "gave up after the stall timeout, not the server's sleep");
            assertTrue(images.list("").isEmpty());
            assertEquals(List.of(), layerDirNames());
        } finally {
            front.stop(0);
        }
    }

    // ---- auth ----

    @Test
    void basicAuthNeedsTheRightCredentials() {
        try (LocalRegistry secured = LocalRegistry.startWithBasicAuth()) {
            TestImages.Pushed img = TestImages.pushBusybox(secured, "private/busybox", "1");
            BerthException anon = assertThrows(BerthException.class, () -> images.pull(img.reference(), RegistryCredentials.NONE));
            assertEquals(ErrorKind.UNAUTHENTICATED, anon.kind(), anon.getMessage());
            BerthException wrong = assertThrows(BerthException.class, () -> images.pull(img.reference(),
                    new RegistryCredentials(LocalRegistry.USER, "wrong", "", "", "")));
            assertEquals(ErrorKind.UNAUTHENTICATED, wrong.kind());
            assertTrue(wrong.getMessage().contains("rejected"), wrong.getMessage());
            assertEquals(img.configDigest(), images.pull(img.reference(),
                    new RegistryCredentials(LocalRegistry.USER, LocalRegistry.PASSWORD, "", "", "")));
            String auth = Base64.getEncoder().encodeToString((LocalRegistry.USER + ":" + LocalRegistry.PASSWORD)
                    .getBytes(StandardCharsets.UTF_8));
            assertTrue(images.remove(img.reference()));
            assertEquals(img.configDigest(), images.pull(img.reference(), new RegistryCredentials("", "", auth, "", "")));
        }
    }

    @Test
    void tokenAuthChallengeFlow() {
        try (LocalRegistry secured = LocalRegistry.startWithTokenAuth()) {
            TestImages.Pushed img = TestImages.pushBusybox(secured, "private/busybox", "1");
            BerthException anon = assertThrows(BerthException.class, () -> images.pull(img.reference(), RegistryCredentials.NONE));
            assertEquals(ErrorKind.UNAUTHENTICATED, anon.kind(), anon.getMessage());
            BerthException wrong = assertThrows(BerthException.class, () -> images.pull(img.reference(),
                    new RegistryCredentials(LocalRegistry.USER, "wrong", "", "", "")));
            assertEquals(ErrorKind.UNAUTHENTICATED, wrong.kind(), wrong.getMessage());
            assertEquals(img.configDigest(), images.pull(img.reference(),
                    new RegistryCredentials(LocalRegistry.USER, LocalRegistry.PASSWORD, "", "", "")));
            assertTrue(secured.tokensIssued() >= 1);
            // an identity token (OAuth2 refresh token) and a ready bearer token work too
            String[] tokens = secured.issueTokens();
            assertTrue(images.remove(img.reference()));
            assertEquals(img.configDigest(), images.pull(img.reference(), new RegistryCredentials("", "", "", tokens[1], "")));
            assertTrue(images.remove(img.reference()));
            assertEquals(img.configDigest(), images.pull(img.reference(), new RegistryCredentials("", "", "", "", tokens[0])));
            BerthException badIdentity = assertThrows(BerthException.class, () -> images.pull(img.reference() + "x",
                    new RegistryCredentials("", "", "", "not-a-refresh-token", "")));
            assertEquals(ErrorKind.UNAUTHENTICATED, badIdentity.kind(), badIdentity.getMessage());
        }
    }

    // ---- registries.conf ----

    @Test
    void mirrorsAndBlockedRegistriesFromRegistriesConf() throws Exception {
        Path conf = tmp.resolve("registries.conf");
        Files.writeString(conf, """
                [[registry]]
                location = "docker.io"
                [[registry.mirror]]
                location = "%s"
                insecure = true

                [[registry]]
                prefix = "blocked.example.com"
                location = "blocked.example.com"
                blocked = true
                """.formatted(reg.host()));
        images.close();
        images = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images")).withRegistriesConf(conf), state, null);
        String id = images.pull("busybox:1.36", RegistryCredentials.NONE);
        assertEquals(busybox.configDigest(), id);
        assertEquals(List.of("docker.io/library/busybox:1.36"), images.status("busybox:1.36").orElseThrow().repoTags());
        assertTrue(images.find("docker.io/library/busybox:1.36").isPresent());
        BerthException blocked = assertThrows(BerthException.class,
                () -> images.pull("blocked.example.com/x/y:1", RegistryCredentials.NONE));
        assertEquals(ErrorKind.PERMISSION_DENIED, blocked.kind());
        assertTrue(blocked.getMessage().contains("blocked"), blocked.getMessage());
    }
}
