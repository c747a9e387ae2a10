package dev.berth.conformance.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.TestImages;
import dev.berth.conformance.harness.TestImages.Layer;
import dev.berth.conformance.hostile.HostileRegistry.LayerBlob;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import runtime.v1.AuthConfig;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.Mount;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StatusRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.UserNamespace;

/**
 * The hostile inputs suite, end to end: a real berth daemon (its production heap of 96 MiB, exiting
 * on OutOfMemoryError) pulls malicious images from a registry this test controls and answers
 * malicious CRI requests. For each case: the gRPC status code and that its message says what is
 * wrong; afterwards nothing was written outside berth's roots (a canary tree outside stays as it
 * was, no "pwned" file anywhere under the test's directories), and the daemon is the same process,
 * answers Status, and its heap is under its bound.
 *
 * <p>Device nodes and setuid files are berth's policy as Docker's, containerd's and CRI-O's: kept as
 * the image has them (images legitimately ship /usr/bin/passwd and sometimes /dev nodes), harmless on
 * the host because the image store is owner-only (0700, nobody else can reach them), and inside a
 * container opening a device node is refused by the runtime's device cgroup.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 40, unit = TimeUnit.MINUTES)
class HostileInputsTest {
    private HostileRegistry reg;
    private BerthDaemon berth;
    private Path canary;
    private Set<String> canaryTree;
    private long pid;
    private String busybox;

    @BeforeAll
    void start() throws Exception {
        assumeTrue(TestImages.available(), "/bin/busybox is missing (apt-get install busybox-static)");
        reg = new HostileRegistry();
        canary = Files.createTempDirectory("berth-hostile-canary-");
        Files.createDirectories(canary.resolve("etc"));
        Files.writeString(canary.resolve("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
        canaryTree = tree(canary);
        berth = BerthDaemon.start();
        pid = berth.pid();
        busybox = reg.new Image(LayerBlob.of(TestImages.busyboxLayer())).push("library/busybox", "1");
    }

    @AfterAll
    void stop() throws IOException {
        if (berth != null) {
            berth.close();
        }
        if (reg != null) {
            reg.close();
        }
        if (canary != null) {
            Commands.rm(canary);
        }
    }

    // ---- the checks every case ends with ----

    private StatusRuntimeException pullFails(String image, AuthConfig auth, Status.Code code, String says) {
        return pullFails(image, auth, code, says, 5);
    }

    private StatusRuntimeException pullFails(String image, AuthConfig auth, Status.Code code, String says, int minutes) {
        PullImageRequest.Builder req = PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image));
        if (auth != null) {
            req.setAuth(auth);
        }
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> berth.client().images().withDeadlineAfter(minutes, TimeUnit.MINUTES).pullImage(req.build()), image);
        assertEquals(code, e.getStatus().getCode(), image + ": " + e.getStatus());
        String d = String.valueOf(e.getStatus().getDescription());
        assertTrue(d.contains(says), () -> image + ": the message should say \"" + says + "\": " + d);
        return e;
    }

    private void assertContained() throws IOException {
        assertEquals(canaryTree, tree(canary), "the canary tree outside berth's roots changed");
        assertEquals("root:x:0:0::/root:/bin/sh\n", Files.readString(canary.resolve("etc/passwd")));
        List<Path> pwned = new ArrayList<>();
        for (Path dir : List.of(berth.base().getParent(), canary, Path.of("/"))) {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().startsWith("pwned")).forEach(pwned::add);
            }
        }
        try (Stream<Path> s = Files.walk(berth.base().resolve("root"))) {
            s.filter(p -> p.getFileName().toString().startsWith("pwned")).forEach(pwned::add);
        }
        assertEquals(List.of(), pwned, "files written by hostile input");
    }

    private void assertDaemonHealthy() throws Exception {
        assertTrue(berth.process().isAlive(), "berth died:\n" + tail(berth.logText()));
        assertEquals(pid, berth.pid(), "berth restarted");
        assertTrue(berth.client().runtime().withDeadlineAfter(30, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance()).hasStatus());
        long heap = heapUsedBytes();
        assertTrue(heap > 0 && heap <= 96L << 20, "heap used " + heap + " bytes");
    }

    /** Sum of jvm_memory_used_bytes{area="heap"} from /metrics. */
    private long heapUsedBytes() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                berth.httpUrl("/metrics"))).build(), HttpResponse.BodyHandlers.ofString());
        double sum = 0;
        for (String line : r.body().split("\n")) {
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return (long) sum;
    }

    private DynamicTest hostile(String name, ThrowingCase c) {
        return DynamicTest.dynamicTest(name, () -> {
            c.run();
            assertContained();
            assertDaemonHealthy();
        });
    }

    interface ThrowingCase {
        void run() throws Exception;
    }

    // ---- malicious layers and images ----

    @TestFactory
    List<DynamicTest> maliciousLayersAndImages() throws Exception {
        List<DynamicTest> cases = new ArrayList<>();
        String out = canary.toString();
        String up = "../../../../../../../../../..";
        Map<String, Layer> escapes = new LinkedHashMap<>();
        escapes.put("path traversal ../", new Layer().rawFile(up + out + "/pwned-dotdot", "x"));
        escapes.put("absolute path", new Layer().rawFile(out + "/pwned-abs", "x"));
        escapes.put("symlink escape then write through it", new Layer().rawSymlink("esc", out).rawFile("esc/pwned-sym", "x"));
        escapes.put("relative symlink escape then write through it",
                new Layer().rawSymlink("up", up).rawFile("up" + out + "/pwned-relsym", "x"));
        escapes.put("hard link to a host file", new Layer().rawHardlink("pwned-hard", up + out + "/etc/passwd"));
        escapes.put("hard link through a symlink", new Layer().rawSymlink("root", "/").rawHardlink("pwned-h2",
                "root" + out + "/etc/passwd"));
        escapes.put("whiteout aimed outside", new Layer().rawFile(up + out + "/.wh.etc", ""));
        escapes.put("whiteout through a symlink", new Layer().rawSymlink("esc", out).rawFile("esc/.wh.etc", ""));
        escapes.put("opaque whiteout through a symlink", new Layer().rawSymlink("esc", out + "/etc")
                .rawFile("esc/.wh..wh..opq", ""));
        escapes.put("whiteout of ..", new Layer().rawFile("a/.wh...", ""));
        int i = 0;
        for (Map.Entry<String, Layer> e : escapes.entrySet()) {
            String ref = reg.new Image(LayerBlob.of(e.getValue())).push("evil/escape", "v" + i++);
            String says = e.getKey().equals("whiteout of ..") ? "names no file" : "malicious layer";
            cases.add(hostile(e.getKey(), () -> pullFails(ref, null, Status.Code.PERMISSION_DENIED, says)));
        }

        cases.add(hostile("device nodes and setuid files are kept in an owner-only store", () -> {
            String ref = reg.new Image(LayerBlob.of(new Layer().dir("/dev", 0755).charDevice("/dev/mem-evil", 1, 1, 0666)
                    .file("/bin/suid", "#!/bin/sh\n", 04755))).push("evil/devices", "1");
            pullOk(ref);
            Path images = berth.root().resolve("images");
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(images, LinkOption.NOFOLLOW_LINKS);
            assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                    PosixFilePermission.OWNER_EXECUTE), perms, "the image store must be owner-only: " + images);
        }));

        cases.add(hostile("a 10 GiB gzip bomb stops at the decompressed-size cap", () -> {
            String ref = reg.new Image(gzipBomb(10L << 30)).push("evil/bomb", "1");
            pullFails(ref, null, Status.Code.RESOURCE_EXHAUSTED, "uncompresses to more than");
        }));
        cases.add(hostile("a pax header of 100 MiB is refused unread", () -> {
            LayerBlob l = LayerBlob.raw(tarHeader('x', "PaxHeaders/huge", 100L << 20), "sha256:" + "0".repeat(64));
            l.mediaType = HostileRegistry.LAYER_TAR;
            pullFails(reg.new Image(l).push("evil/pax", "1"), null, Status.Code.RESOURCE_EXHAUSTED, "pax extended header");
        }));
        cases.add(hostile("a GNU long name of 8 MiB is refused unread", () -> {
            LayerBlob l = LayerBlob.raw(tarHeader('L', "././@LongLink", 8L << 20), "sha256:" + "0".repeat(64));
            l.mediaType = HostileRegistry.LAYER_TAR;
            pullFails(reg.new Image(l).push("evil/longlink", "1"), null, Status.Code.RESOURCE_EXHAUSTED, "long name");
        }));
        cases.add(hostile("a name longer than PATH_MAX", () -> pullFails(reg.new Image(LayerBlob.of(
                new Layer().rawFile("a/".repeat(3000) + "f", "x"))).push("evil/longname", "1"), null,
                Status.Code.RESOURCE_EXHAUSTED, "longer than 4096 bytes")));
        cases.add(hostile("a file name longer than NAME_MAX", () -> pullFails(reg.new Image(LayerBlob.of(
                new Layer().rawFile("n".repeat(300), "x"))).push("evil/namemax", "1"), null,
                Status.Code.RESOURCE_EXHAUSTED, "longer than 255 bytes")));

        // Descriptors that lie.
        LayerBlob small = LayerBlob.of(new Layer().file("/f", "content", 0644));
        cases.add(hostile("config smaller than its descriptor says", () -> {
            HostileRegistry.Image img = reg.new Image(small);
            img.configSize = img.config.length + 100;
            pullFails(img.push("evil/cfgsize", "1"), null, Status.Code.FAILED_PRECONDITION, "");
        }));
        cases.add(hostile("config larger than its descriptor says", () -> {
            HostileRegistry.Image img = reg.new Image(small);
            img.configSize = 10;
            pullFails(img.push("evil/cfgsize2", "1"), null, Status.Code.FAILED_PRECONDITION, "longer than its declared size");
        }));
        cases.add(hostile("config with size -1", () -> {
            HostileRegistry.Image img = reg.new Image(small);
            img.configSize = -1;
            pullFails(img.push("evil/cfgneg", "1"), null, Status.Code.RESOURCE_EXHAUSTED, "-1 bytes");
        }));
        cases.add(hostile("config with a wrong digest", () -> {
            HostileRegistry.Image img = reg.new Image(small);
            String real = img.configDigest;
            img.configDigest = "sha256:" + "e".repeat(64);
            String ref = img.push("evil/cfgdigest", "1");
            reg.blob("evil/cfgdigest", img.configDigest, img.config); // served under a digest it does not have
            assertTrue(!real.equals(img.configDigest));
            pullFails(ref, null, Status.Code.FAILED_PRECONDITION, "digest");
        }));
        cases.add(hostile("manifest whose bytes do not match the digest pulled", () -> {
            HostileRegistry.Image img = reg.new Image(small);
            img.push("evil/mdigest", "1");
            String fake = "sha256:" + "d".repeat(64);
            reg.manifest("evil/mdigest", fake, HostileRegistry.OCI_MANIFEST, img.manifestBytes());
            pullFails(reg.host() + "/evil/mdigest@" + fake, null, Status.Code.FAILED_PRECONDITION, "digest");
        }));
        cases.add(hostile("layer smaller than its descriptor says", () -> {
            LayerBlob l = LayerBlob.of(new Layer().file("/g", "g", 0644));
            l.size += 1000;
            pullFails(reg.new Image(l).push("evil/lsize", "1"), null, Status.Code.FAILED_PRECONDITION, "");
        }));
        cases.add(hostile("layer larger than its descriptor says", () -> {
            LayerBlob l = LayerBlob.of(new Layer().randomFile("/r", 200_000, 7));
            l.size = 100;
            pullFails(reg.new Image(l).push("evil/lsize2", "1"), null, Status.Code.FAILED_PRECONDITION, "");
        }));
        cases.add(hostile("layer with size -1", () -> {
            LayerBlob l = LayerBlob.of(new Layer().file("/h", "h", 0644));
            l.size = -1;
            pullFails(reg.new Image(l).push("evil/lneg", "1"), null, Status.Code.FAILED_PRECONDITION, "negative size");
        }));
        cases.add(hostile("layer with a wrong digest", () -> {
            LayerBlob l = LayerBlob.of(new Layer().file("/i", "i", 0644));
            LayerBlob other = LayerBlob.of(new Layer().file("/i", "other", 0644));
            String ref = reg.new Image(l).push("evil/ldigest", "1");
            reg.blob("evil/ldigest", l.digest, other.blob);
            pullFails(ref, null, Status.Code.FAILED_PRECONDITION, "verification");
        }));
        cases.add(hostile("layer whose content does not match its diff_id", () -> {
            LayerBlob l = LayerBlob.of(new Layer().file("/j", "j", 0644));
            l.diffId = "sha256:" + "c".repeat(64);
            pullFails(reg.new Image(l).push("evil/diffid", "1"), null, Status.Code.FAILED_PRECONDITION, "diff_id");
        }));
        cases.add(hostile("unknown manifest media type", () -> {
            HostileRegistry.Image img = reg.new Image(small);
            img.manifestType = "application/vnd.evil.manifest+json";
            pullFails(img.push("evil/mtype", "1"), null, Status.Code.FAILED_PRECONDITION, "unsupported manifest media type");
        }));
        cases.add(hostile("unknown layer media type", () -> {
            LayerBlob l = LayerBlob.of(new Layer().file("/k", "k", 0644));
            l.mediaType = "application/vnd.evil.layer";
            pullFails(reg.new Image(l).push("evil/ltype", "1"), null, Status.Code.FAILED_PRECONDITION, "unsupported media type");
        }));
        cases.add(hostile("index whose child is an index (loop)", () -> {
            var inner = HostileRegistry.object();
            inner.put("schemaVersion", 2).put("mediaType", HostileRegistry.OCI_INDEX);
            inner.putArray("manifests").addObject().put("mediaType", HostileRegistry.OCI_INDEX)
                    .put("digest", "sha256:" + "f".repeat(64)).put("size", 100)
                    .putObject("platform").put("os", "linux").put("architecture", "amd64");
            byte[] innerBytes = HostileRegistry.bytes(inner);
            String innerDigest = TestImages.sha256(innerBytes);
            reg.manifest("evil/loop", innerDigest, HostileRegistry.OCI_INDEX, innerBytes);
            var outer = HostileRegistry.object();
            outer.put("schemaVersion", 2).put("mediaType", HostileRegistry.OCI_INDEX);
            outer.putArray("manifests").addObject().put("mediaType", HostileRegistry.OCI_INDEX)
                    .put("digest", innerDigest).put("size", innerBytes.length)
                    .putObject("platform").put("os", "linux").put("architecture", "amd64");
            reg.manifest("evil/loop", "1", HostileRegistry.OCI_INDEX, HostileRegistry.bytes(outer));
            pullFails(reg.host() + "/evil/loop:1", null, Status.Code.FAILED_PRECONDITION, "nested indexes");
        }));

        // Registries that misbehave.
        cases.add(hostile("endless manifest body", () -> {
            reg.override("/v2/evil/endless/manifests/1", HostileRegistry.endless(200,
                    Map.of("Content-Type", HostileRegistry.OCI_MANIFEST)));
            pullFails(reg.host() + "/evil/endless:1", null, Status.Code.RESOURCE_EXHAUSTED, "4194304-byte limit");
        }));
        cases.add(hostile("endless token body", () -> {
            reg.override("/v2/evil/token/manifests/1", ex -> {
                ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"http://" + reg.host()
                        + "/token-endless\",service=\"x\"");
                HostileRegistry.send(ex, 401, "application/json", "{}".getBytes());
            });
            reg.override("/token-endless", HostileRegistry.endless(200, Map.of("Content-Type", "application/json")));
            pullFails(reg.host() + "/evil/token:1", null, Status.Code.RESOURCE_EXHAUSTED, "1048576-byte limit");
        }));
        cases.add(hostile("endless 401 whatever the credentials", () -> {
            reg.override("/v2/evil/401/manifests/1", HostileRegistry.endless(401,
                    Map.of("WWW-Authenticate", "Basic realm=\"x\"")));
            pullFails(reg.host() + "/evil/401:1", AuthConfig.newBuilder().setUsername("u").setPassword("p").build(),
                    Status.Code.UNAUTHENTICATED, "rejected the given credentials");
        }));
        cases.add(hostile("endless redirect chain", () -> {
            for (int hop = 0; hop < 10; hop++) {
                String next = "/v2/evil/redirect/manifests/" + (hop + 1);
                reg.override("/v2/evil/redirect/manifests/" + hop, HostileRegistry.endless(307, Map.of("Location", next)));
            }
            pullFails(reg.host() + "/evil/redirect:0", null, Status.Code.FAILED_PRECONDITION, "redirected more than");
        }));
        cases.add(hostile("redirect to another host never carries the credentials", () -> {
            try (HostileRegistry other = new HostileRegistry()) {
                reg.override("/v2/evil/away/manifests/1", ex -> {
                    ex.getResponseHeaders().set("Location", "http://" + other.host() + "/v2/evil/away/manifests/1");
                    HostileRegistry.send(ex, 307, "text/plain", new byte[0]);
                });
                pullFails(reg.host() + "/evil/away:1", AuthConfig.newBuilder().setUsername("u").setPassword("secret")
                        .setServerAddress(reg.host()).build(), Status.Code.NOT_FOUND, "not found");
                assertFalse(other.seen.isEmpty(), "the redirect was followed");
                assertTrue(other.seen.stream().allMatch(s -> s.authorization().isEmpty()),
                        "credentials crossed to another host: " + other.seen);
            }
        }));
        return cases;
    }

    /** Manifest, config, token and blob servers that stall after their headers: each pull fails, in parallel. */
    @Test
    void registriesThatStallAfterHeadersFailThePull() throws Exception {
        long forever = TimeUnit.MINUTES.toMillis(10);
        reg.override("/v2/stall/manifest/manifests/1", HostileRegistry.stallAfterHeaders(1000, forever));
        HostileRegistry.Image cfg = reg.new Image(LayerBlob.of(new Layer().file("/s", "s", 0644)));
        String cfgRef = cfg.push("stall/config", "1");
        reg.override("/v2/stall/config/blobs/" + cfg.configDigest, HostileRegistry.stallAfterHeaders(cfg.configSize, forever));
        LayerBlob big = LayerBlob.of(new Layer().randomFile("/big", 1 << 20, 5));
        String blobRef = reg.new Image(big).push("stall/blob", "1");
        reg.override("/v2/stall/blob/blobs/" + big.digest, HostileRegistry.stallAfterHeaders(big.size, forever));
        reg.override("/v2/stall/token/manifests/1", ex -> {
            ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"http://" + reg.host() + "/token-stall\"");
            HostileRegistry.send(ex, 401, "application/json", "{}".getBytes());
        });
        reg.override("/token-stall", HostileRegistry.stallAfterHeaders(100, forever));
        List<String> refs = List.of(reg.host() + "/stall/manifest:1", cfgRef, blobRef, reg.host() + "/stall/token:1");
        List<CompletableFuture<StatusRuntimeException>> pulls = new ArrayList<>();
        for (String ref : refs) {
            pulls.add(CompletableFuture.supplyAsync(
                    () -> pullFails(ref, null, Status.Code.UNAVAILABLE, "sent no data"),
                    runnable -> Thread.ofVirtual().start(runnable)));
        }
        for (CompletableFuture<StatusRuntimeException> p : pulls) {
            p.get(4, TimeUnit.MINUTES);
        }
        assertContained();
        assertDaemonHealthy();
    }

    /** A million and one empty directories: refused at the entry limit, with the heap bounded all along. */
    @Test
    void aMillionEmptyDirectoriesStopAtTheEntryLimit() throws Exception {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        java.security.MessageDigest tarDigest = java.security.MessageDigest.getInstance("SHA-256");
        try (var out = new java.security.DigestOutputStream(new GZIPOutputStream(gz, 1 << 16), tarDigest)) {
            for (int d = 0; d <= 1_000_000; d++) {
                out.write(header('5', "d" + d + "/", 0));
            }
            out.write(new byte[1024]);
        }
        LayerBlob l = LayerBlob.raw(gz.toByteArray(), "sha256:" + java.util.HexFormat.of().formatHex(tarDigest.digest()));
        String ref = reg.new Image(l).push("evil/million", "1");
        // A million mkdirs (and their removal) take minutes on a loaded 2-core machine.
        pullFails(ref, null, Status.Code.RESOURCE_EXHAUSTED, "more than 1000000 entries", 20);
        assertContained();
        assertDaemonHealthy();
    }

    private void pullOk(String ref) {
        berth.client().images().withDeadlineAfter(2, TimeUnit.MINUTES).pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(ref)).build());
    }

    // ---- malicious CRI requests ----

    private static final NamespaceOption HOST_NET = NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)
            .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD).build();

    private PodSandboxConfig.Builder pod(String name, Path logs) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("hostile")
                        .setUid(UUID.randomUUID().toString()))
                .setLogDirectory(logs.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(
                        LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(HOST_NET)));
    }

    private ContainerConfig.Builder container(String name) {
        return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(busybox)).addCommand("sleep").addCommand("60")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(HOST_NET)))
                .setLogPath(name + ".log");
    }

    private StatusRuntimeException fails(Status.Code code, String says, Supplier<?> call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get);
        assertEquals(code, e.getStatus().getCode(), String.valueOf(e.getStatus()));
        String d = String.valueOf(e.getStatus().getDescription());
        assertTrue(d.contains(says), () -> "the message should say \"" + says + "\": " + d);
        return e;
    }

    @TestFactory
    List<DynamicTest> maliciousCriRequests() throws Exception {
        List<DynamicTest> cases = new ArrayList<>();
        Path logs = Files.createDirectories(berth.base().resolve("logs/hostile"));
        String mib = "x".repeat(1 << 20);
        var rt = (Supplier<runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub>) () -> berth.client().runtime();

        cases.add(hostile("1 MiB pod name", () -> fails(Status.Code.INVALID_ARGUMENT, "metadata.name is 1048576 bytes",
                () -> rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod(mib, logs)).build()))));
        cases.add(hostile("1 MiB pod label", () -> fails(Status.Code.INVALID_ARGUMENT, "labels hold",
                () -> rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod("p", logs)
                        .putLabels("big", mib)).build()))));
        cases.add(hostile("1 MiB of pod annotations", () -> fails(Status.Code.INVALID_ARGUMENT, "annotations hold",
                () -> rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod("p", logs)
                        .putAnnotations("a", mib.substring(512 * 1024)).putAnnotations("b", mib.substring(512 * 1024)))
                        .build()))));
        cases.add(hostile("empty pod name", () -> fails(Status.Code.INVALID_ARGUMENT, "metadata needs a name",
                () -> rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod("", logs)).build()))));
        cases.add(hostile("pod PID namespace TARGET", () -> fails(Status.Code.INVALID_ARGUMENT, "TARGET",
                () -> rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod("p", logs).setLinux(
                        LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
                                .setNamespaceOptions(HOST_NET.toBuilder().setPid(NamespaceMode.TARGET)))))
                        .build()))));
        cases.add(hostile("user namespace with the node's network", () -> fails(Status.Code.INVALID_ARGUMENT, "",
                () -> rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod("p", logs).setLinux(
                        LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
                                .setNamespaceOptions(HOST_NET.toBuilder().setUsernsOptions(UserNamespace.newBuilder()
                                        .setMode(NamespaceMode.POD))))))
                        .build()))));
        cases.add(hostile("unknown runtime handler of 1 MiB", () -> fails(Status.Code.INVALID_ARGUMENT, "runtime_handler",
                () -> rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod("p", logs))
                        .setRuntimeHandler(mib).build()))));
        for (String bad : List.of("../../../../" + canary.toString().substring(1), "/etc/passwd", "x/../../y", mib)) {
            String label = bad.length() > 100 ? "1 MiB id" : bad;
            cases.add(hostile("bad id " + label + ": status answers NOT_FOUND, stop and remove touch nothing", () -> {
                fails(Status.Code.NOT_FOUND, "", () -> rt.get().containerStatus(
                        ContainerStatusRequest.newBuilder().setContainerId(bad).build()));
                fails(Status.Code.NOT_FOUND, "", () -> rt.get().podSandboxStatus(
                        PodSandboxStatusRequest.newBuilder().setPodSandboxId(bad).build()));
                // Unknown ids are already stopped and removed (CRI): success, and nothing named by them is touched.
                rt.get().stopContainer(StopContainerRequest.newBuilder().setContainerId(bad).build());
                rt.get().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(bad).build());
                rt.get().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(bad).build());
                rt.get().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(bad).build());
            }));
        }

        // Requests against a real pod.
        cases.add(hostile("container requests with path escapes and oversized strings", () -> {
            pullOk(busybox);
            PodSandboxConfig cfg = pod("hostile-pod", logs).build();
            String podId = rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(cfg).build()).getPodSandboxId();
            try {
                Files.createSymbolicLink(logs.resolve("link"), canary);
                Map<String, ContainerConfig.Builder> bad = new LinkedHashMap<>();
                Map<String, String> says = new LinkedHashMap<>();
                bad.put("log_path ../", container("a").setLogPath("../../../../" + canary.toString().substring(1) + "/pwned.log"));
                says.put("log_path ../", "escapes the pod's log_directory");
                bad.put("absolute log_path", container("b").setLogPath(canary + "/pwned.log"));
                says.put("absolute log_path", "must be relative");
                bad.put("log_path through a symlink", container("c").setLogPath("link/pwned.log"));
                says.put("log_path through a symlink", "symbolic link");
                bad.put("relative host_path", container("d").addMounts(Mount.newBuilder().setHostPath("pwned-rel")
                        .setContainerPath("/mnt")));
                says.put("relative host_path", "must be an absolute path");
                bad.put("relative container_path", container("e").addMounts(Mount.newBuilder()
                        .setHostPath(logs.toString()).setContainerPath("../../mnt")));
                says.put("relative container_path", "must be absolute");
                bad.put("1 MiB container name", container(mib));
                says.put("1 MiB container name", "metadata.name is 1048576 bytes");
                bad.put("1 MiB container annotation", container("f").putAnnotations("a", mib));
                says.put("1 MiB container annotation", "annotations hold");
                bad.put("container PID TARGET without a target", container("g").setLinux(LinuxContainerConfig.newBuilder()
                        .setSecurityContext(LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(
                                HOST_NET.toBuilder().setPid(NamespaceMode.TARGET)))));
                says.put("container PID TARGET without a target", "TARGET");
                for (Map.Entry<String, ContainerConfig.Builder> e : bad.entrySet()) {
                    StatusRuntimeException ex = assertThrows(StatusRuntimeException.class, () -> rt.get().createContainer(
                            CreateContainerRequest.newBuilder().setPodSandboxId(podId).setConfig(e.getValue())
                                    .setSandboxConfig(cfg).build()), e.getKey());
                    assertEquals(Status.Code.INVALID_ARGUMENT, ex.getStatus().getCode(), e.getKey() + ": " + ex.getStatus());
                    String d = String.valueOf(ex.getStatus().getDescription());
                    assertTrue(d.contains(says.get(e.getKey())), e.getKey() + ": " + d);
                    assertTrue(d.length() <= 4096, e.getKey() + ": a description of " + d.length() + " characters");
                }
                assertEquals(List.of(), rt.get().listContainers(runtime.v1.ListContainersRequest.getDefaultInstance())
                        .getContainersList(), "refused containers left records");
            } finally {
                rt.get().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
                rt.get().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
            }
        }));
        cases.add(hostile("container_path through a symlink in the image stays inside the root filesystem", () -> {
            String evil = reg.new Image(LayerBlob.of(TestImages.busyboxLayer()), LayerBlob.of(new Layer()
                    .symlink("/escape", canary.toString()))).push("evil/mountlink", "1");
            pullOk(evil);
            Path source = Files.createDirectories(berth.base().resolve("volume"));
            PodSandboxConfig cfg = pod("mountlink", logs).build();
            String podId = rt.get().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(cfg).build()).getPodSandboxId();
            try {
                try {
                    String id = rt.get().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(podId)
                            .setConfig(container("m").setImage(ImageSpec.newBuilder().setImage(evil)).addMounts(
                                    Mount.newBuilder().setHostPath(source.toString()).setContainerPath("/escape/pwned-mnt")))
                            .setSandboxConfig(cfg).build()).getContainerId();
                    rt.get().startContainer(runtime.v1.StartContainerRequest.newBuilder().setContainerId(id).build());
                } catch (StatusRuntimeException refused) {
                    // refusing is as good as confining; what matters is below
                }
                assertFalse(Files.exists(canary.resolve("pwned-mnt"), LinkOption.NOFOLLOW_LINKS),
                        "a mount point was made outside the root filesystem");
            } finally {
                rt.get().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
                rt.get().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
            }
        }));
        return cases;
    }

    // ---- crafted blobs ----

    /** A gzip stream of {@code total} zero bytes, built from one compressed member repeated (gzip allows that). */
    private static LayerBlob gzipBomb(long total) throws IOException {
        int chunk = 64 << 20;
        ByteArrayOutputStream member = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(member, 1 << 16)) {
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < chunk / zeros.length; i++) {
                out.write(zeros);
            }
        }
        byte[] one = member.toByteArray();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (long n = 0; n < total / chunk; n++) {
            all.writeBytes(one);
        }
        // The diff_id cannot be computed cheaply and does not matter: the cap comes first.
        return LayerBlob.raw(all.toByteArray(), "sha256:" + "b".repeat(64));
    }

    private static byte[] tarHeader(char type, String name, long claimedSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header(type, name, claimedSize));
        return out.toByteArray();
    }

    /** One ustar header block. */
    private static byte[] header(char type, String name, long size) {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(n, 0, h, 0, Math.min(100, n.length));
        octal(h, 100, 8, type == '5' ? 0755 : 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, 1_700_000_000L);
        h[156] = (byte) type;
        System.arraycopy("ustar\u000000".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        byte[] cs = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(cs, 0, h, 148, 8);
        return h;
    }

    private static void octal(byte[] h, int off, int len, long v) {
        byte[] s = String.format("%0" + (len - 1) + "o", v).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(s, 0, h, off, len - 1);
    }

    private static Set<String> tree(Path root) throws IOException {
        Set<String> out = new TreeSet<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.forEach(p -> out.add(root.relativize(p) + (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "/" : "")));
        }
        return out;
    }

    private static String tail(String log) {
        return log.length() <= 4000 ? log : log.substring(log.length() - 4000);
    }

    /** Deleting the canary tree (test directories only). */
    private static final class Commands {
        static void rm(Path p) throws IOException {
            List<Path> all = new ArrayList<>();
            try (Stream<Path> s = Files.walk(p)) {
                s.forEach(all::add);
            }
            all.sort(java.util.Comparator.reverseOrder());
            for (Path q : all) {
                Files.deleteIfExists(q);
            }
        }
    }
}
