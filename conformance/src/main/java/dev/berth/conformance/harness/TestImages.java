package dev.berth.conformance.harness;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Builds container images in Java (from busybox-static's {@code /bin/busybox}) and pushes them to a
 * {@link LocalRegistry} through the registry HTTP API. No internet, no docker.
 *
 * <pre>{@code
 * // the common case: a one-layer busybox image (sh, ls, cat, sleep, ... as applet symlinks)
 * TestImages.Pushed bb = TestImages.pushBusybox(reg, "library/busybox", "1.36");
 * bb.reference();        // "127.0.0.1:PORT/library/busybox:1.36"
 * bb.digestReference();  // "127.0.0.1:PORT/library/busybox@sha256:<manifest digest>"
 * bb.configDigest();     // the image id CRI returns
 *
 * // anything else: layers on top of busybox, compression, format, user, command
 * TestImages.Pushed img = TestImages.image()
 *         .layer(TestImages.busyboxLayer())
 *         .layer(new TestImages.Layer().file("/etc/motd", "hi\n", 0644).whiteout("/bin/vi"))
 *         .compression(TestImages.Compression.ZSTD)
 *         .user("1000:1000").cmd("sleep", "3600")
 *         .push(reg, "test/app", "v1");
 * }</pre>
 */
public final class TestImages {
    public static final String BUSYBOX = "/bin/busybox";

    /** Applets linked next to busybox in the rootfs layer (enough for tests and kubelet probes). */
    public static final List<String> APPLETS = List.of(
            "sh", "ash", "ls", "cat", "echo", "sleep", "true", "false", "id", "env", "mkdir", "rm", "rmdir",
            "touch", "ps", "top", "wget", "nc", "grep", "head", "tail", "hostname", "date", "stat", "test",
            "printf", "sed", "awk", "wc", "cp", "mv", "ln", "chmod", "chown", "kill", "pwd", "uname", "whoami",
            "mount", "df", "du", "find", "xargs", "sync", "ip", "ping", "yes", "dd", "tee", "vi", "readlink",
            "seq", "sort", "uniq", "cut", "tr", "md5sum", "sha256sum", "nslookup", "timeout", "nproc", "free");

    public enum Compression { GZIP, ZSTD, NONE }

    public enum Format { OCI, DOCKER }

    /**
     * What {@link Image#push} wrote: names to pull and the digests to expect.
     *
     * @param host "127.0.0.1:PORT" (the pull side of the registry)
     * @param manifestDigest digest of the manifest (or index) the tag points to
     * @param configDigest the image id (empty for an index)
     * @param layerDigests compressed layer blob digests, bottom first
     * @param diffIds uncompressed layer digests, bottom first
     * @param size manifest + config + compressed layers, in bytes
     */
    public record Pushed(String host, String repository, String tag, String manifestDigest, String mediaType,
            String configDigest, List<String> layerDigests, List<String> diffIds, long size, byte[] manifest) {
        public String reference() {
            return host + "/" + repository + ":" + tag;
        }

        public String digestReference() {
            return host + "/" + repository + "@" + manifestDigest;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();

    private TestImages() {}

    /** Whether /bin/busybox (busybox-static) is there; tests call {@code assumeTrue(TestImages.available())}. */
    public static boolean available() {
        return Files.isRegularFile(Path.of(BUSYBOX));
    }

    public static Image image() {
        return new Image();
    }

    /** A one-layer busybox image, gzip, OCI media types, Cmd ["sh"]. */
    public static Pushed pushBusybox(LocalRegistry reg, String repository, String tag) {
        return image().layer(busyboxLayer()).push(reg, repository, tag);
    }

    /**
     * As critest's test-image-predefined-group: busybox whose user {@code app} (uid 1000, gid 1000)
     * is also listed in group {@code group-defined-in-image} (50000) of /etc/group; USER 1000.
     */
    public static Pushed pushGroupsImage(LocalRegistry reg, String repository, String tag) {
        Layer groups = new Layer().dir("/etc", 0755).file("/etc/group",
                "root:x:0:\nnobody:x:65534:\napp:x:1000:\ngroup-defined-in-image:x:50000:app\n", 0644);
        return image().layer(busyboxLayer()).layer(groups).user("1000").push(reg, repository, tag);
    }

    /** A rootfs layer: /bin/busybox, applet symlinks in /bin, /etc/passwd+group, the usual empty dirs. */
    public static Layer busyboxLayer() {
        Layer l = new Layer();
        for (String d : List.of("/bin", "/dev", "/etc", "/proc", "/sys", "/root", "/home", "/var", "/usr")) {
            l.dir(d, 0755);
        }
        l.dir("/tmp", 01777);
        l.hostFile("/bin/busybox", Path.of(BUSYBOX), 0755);
        for (String a : APPLETS) {
            l.symlink("/bin/" + a, "busybox");
        }
        l.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
                + "app:x:1000:1000:app:/home/app:/bin/sh\n", 0644);
        l.file("/etc/group", "root:x:0:\nnobody:x:65534:\napp:x:1000:\n", 0644);
        return l;
    }

    /**
     * Pushes an OCI image index (multi-arch) naming the given images' manifests with their platforms,
     * tagged {@code tag}. Each entry is (image, "os/arch[/variant]").
     */
    public static Pushed pushIndex(LocalRegistry reg, String repository, String tag, Map<Pushed, String> platforms) {
        return pushIndex(reg, repository, tag, platforms, Format.OCI);
    }

    /** Same, as an OCI index or a Docker manifest list. */
    public static Pushed pushIndex(LocalRegistry reg, String repository, String tag, Map<Pushed, String> platforms,
            Format format) {
        String indexType = format == Format.OCI ? MediaTypes.OCI_INDEX : MediaTypes.DOCKER_LIST;
        ObjectNode index = JSON.createObjectNode();
        index.put("schemaVersion", 2);
        index.put("mediaType", indexType);
        ArrayNode manifests = index.putArray("manifests");
        for (Map.Entry<Pushed, String> e : platforms.entrySet()) {
            ObjectNode m = manifests.addObject();
            m.put("mediaType", e.getKey().mediaType());
            m.put("digest", e.getKey().manifestDigest());
            m.put("size", e.getKey().manifest().length);
            String[] p = e.getValue().split("/");
            ObjectNode plat = m.putObject("platform");
            plat.put("os", p[0]);
            plat.put("architecture", p[1]);
            if (p.length > 2) {
                plat.put("variant", p[2]);
            }
        }
        byte[] bytes = bytes(index);
        String digest = putManifest(reg, repository, tag, indexType, bytes);
        return new Pushed(reg.host(), repository, tag, digest, indexType, "", List.of(), List.of(), bytes.length, bytes);
    }

    /** Media types used when building images. */
    public static final class MediaTypes {
        public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
        public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
        public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
        public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
        public static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
        public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";

        private MediaTypes() {}
    }

    /** An image under construction. */
    public static final class Image {
        private final List<Layer> layers = new ArrayList<>();
        private Compression compression = Compression.GZIP;
        private final List<Compression> perLayer = new ArrayList<>();
        private Format format = Format.OCI;
        private String user = "";
        private List<String> entrypoint = List.of();
        private List<String> cmd = List.of("sh");
        private final List<String> env = new ArrayList<>(List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        private String workingDir = "";
        private final Map<String, String> labels = new LinkedHashMap<>();
        private final Map<String, String> annotations = new LinkedHashMap<>();
        private String os = "linux";
        private String architecture = "amd64";
        private String variant;

        public Image layer(Layer layer) {
            layers.add(layer);
            perLayer.add(null);
            return this;
        }

        /** A layer with its own compression (mixing gzip/zstd/none in one image). */
        public Image layer(Layer layer, Compression c) {
            layers.add(layer);
            perLayer.add(c);
            return this;
        }

        public Image compression(Compression c) {
            this.compression = c;
            return this;
        }

        public Image format(Format f) {
            this.format = f;
            return this;
        }

        public Image user(String u) {
            this.user = u;
            return this;
        }

        public Image entrypoint(String... e) {
            this.entrypoint = List.of(e);
            return this;
        }

        public Image cmd(String... c) {
            this.cmd = List.of(c);
            return this;
        }

        public Image env(String e) {
            this.env.add(e);
            return this;
        }

        public Image workingDir(String w) {
            this.workingDir = w;
            return this;
        }

        public Image label(String k, String v) {
            labels.put(k, v);
            return this;
        }

        /** An annotation of the manifest (e.g. the one marking a checkpoint image). */
        public Image annotation(String k, String v) {
            annotations.put(k, v);
            return this;
        }

        /** "os/arch[/variant]", default linux/amd64. */
        public Image platform(String platform) {
            String[] p = platform.split("/");
            os = p[0];
            architecture = p[1];
            variant = p.length > 2 ? p[2] : null;
            return this;
        }

        public Pushed push(LocalRegistry reg, String repository, String tag) {
            List<String> digests = new ArrayList<>();
            List<String> diffIds = new ArrayList<>();
            List<Long> sizes = new ArrayList<>();
            List<String> types = new ArrayList<>();
            long total = 0;
            for (int i = 0; i < layers.size(); i++) {
                Compression c = perLayer.get(i) != null ? perLayer.get(i) : compression;
                if (c == Compression.ZSTD && format == Format.DOCKER) {
                    throw new IllegalArgumentException("Docker schema 2 has no zstd layer type; use Format.OCI");
                }
                Built b = layers.get(i).build(c);
                try {
                    pushBlob(reg, repository, b.digest, b.file);
                } finally {
                    deleteQuietly(b.file);
                }
                digests.add(b.digest);
                diffIds.add(b.diffId);
                sizes.add(b.size);
                types.add(layerMediaType(format, c));
                total += b.size;
            }
            ObjectNode config = JSON.createObjectNode();
            config.put("architecture", architecture);
            config.put("os", os);
            if (variant != null) {
                config.put("variant", variant);
            }
            config.put("created", "2026-01-01T00:00:00Z");
            ObjectNode cc = config.putObject("config");
            if (!user.isEmpty()) {
                cc.put("User", user);
            }
            ArrayNode envs = cc.putArray("Env");
            env.forEach(envs::add);
            if (!entrypoint.isEmpty()) {
                ArrayNode ep = cc.putArray("Entrypoint");
                entrypoint.forEach(ep::add);
            }
            if (!cmd.isEmpty()) {
                ArrayNode cm = cc.putArray("Cmd");
                cmd.forEach(cm::add);
            }
            if (!workingDir.isEmpty()) {
                cc.put("WorkingDir", workingDir);
            }
            if (!labels.isEmpty()) {
                ObjectNode l = cc.putObject("Labels");
                labels.forEach(l::put);
            }
            ObjectNode rootfs = config.putObject("rootfs");
            rootfs.put("type", "layers");
            ArrayNode ids = rootfs.putArray("diff_ids");
            diffIds.forEach(ids::add);
            ArrayNode history = config.putArray("history");
            for (int i = 0; i < layers.size(); i++) {
                history.addObject().put("created_by", "berth TestImages layer " + i);
            }
            byte[] configBytes = bytes(config);
            String configDigest = sha256(configBytes);
            pushBlob(reg, repository, configDigest, configBytes);
            total += configBytes.length;

            String manifestType = format == Format.OCI ? MediaTypes.OCI_MANIFEST : MediaTypes.DOCKER_MANIFEST;
            ObjectNode manifest = JSON.createObjectNode();
            manifest.put("schemaVersion", 2);
            manifest.put("mediaType", manifestType);
            ObjectNode cfg = manifest.putObject("config");
            cfg.put("mediaType", format == Format.OCI ? MediaTypes.OCI_CONFIG : MediaTypes.DOCKER_CONFIG);
            cfg.put("digest", configDigest);
            cfg.put("size", configBytes.length);
            ArrayNode ls = manifest.putArray("layers");
            for (int i = 0; i < digests.size(); i++) {
                ObjectNode l = ls.addObject();
                l.put("mediaType", types.get(i));
                l.put("digest", digests.get(i));
                l.put("size", sizes.get(i));
            }
            if (!annotations.isEmpty()) {
                ObjectNode a = manifest.putObject("annotations");
                annotations.forEach(a::put);
            }
            byte[] manifestBytes = bytes(manifest);
            String manifestDigest = putManifest(reg, repository, tag, manifestType, manifestBytes);
            total += manifestBytes.length;
            return new Pushed(reg.host(), repository, tag, manifestDigest, manifestType, configDigest,
                    List.copyOf(digests), List.copyOf(diffIds), total, manifestBytes);
        }
    }

    static String layerMediaType(Format format, Compression c) {
        if (format == Format.DOCKER) {
            return c == Compression.GZIP ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                    : "application/vnd.docker.image.rootfs.diff.tar";
        }
        return switch (c) {
            case GZIP -> "application/vnd.oci.image.layer.v1.tar+gzip";
            case ZSTD -> "application/vnd.oci.image.layer.v1.tar+zstd";
            case NONE -> "application/vnd.oci.image.layer.v1.tar";
        };
    }

    /**
     * The entries of one layer tarball, in order. Paths are written as given, so a test can also
     * build hostile layers ({@link #rawFile}: absolute paths, "..").
     */
    public static final class Layer {
        private record E(String name, byte type, int mode, String link, byte[] data, Path hostFile, long randomSize,
                long seed, int uid, int gid, int devMajor, int devMinor, Map<String, String> xattrs) {}

        private final List<E> entries = new ArrayList<>();

        /** Layer paths are relative in the tarball ("/bin/sh" is written as "bin/sh"). */
        private static String rel(String path) {
            return path.startsWith("/") ? path.substring(1) : path;
        }

        public Layer dir(String path, int mode) {
            return add(new E(rel(path) + "/", TarConstants.LF_DIR, mode, null, null, null, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        public Layer file(String path, String content, int mode) {
            return file(path, content.getBytes(StandardCharsets.UTF_8), mode);
        }

        public Layer file(String path, byte[] content, int mode) {
            return add(new E(rel(path), TarConstants.LF_NORMAL, mode, null, content, null, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        /** A file with owner and extended attributes (e.g. "user.berth" -> "yes"). */
        public Layer file(String path, String content, int mode, int uid, int gid, Map<String, String> xattrs) {
            return add(new E(rel(path), TarConstants.LF_NORMAL, mode, null, content.getBytes(StandardCharsets.UTF_8),
                    null, 0, 0, uid, gid, 0, 0, xattrs));
        }

        /** A file of {@code size} pseudo-random bytes from {@code seed} (streamed, never held in memory). */
        public Layer randomFile(String path, long size, long seed) {
            return add(new E(rel(path), TarConstants.LF_NORMAL, 0644, null, null, null, size, seed, 0, 0, 0, 0, Map.of()));
        }

        /** The content of a host file. */
        public Layer hostFile(String path, Path source, int mode) {
            return add(new E(rel(path), TarConstants.LF_NORMAL, mode, null, null, source, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        public Layer symlink(String path, String target) {
            return add(new E(rel(path), TarConstants.LF_SYMLINK, 0777, target, null, null, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        /** A hard link at {@code path} to the earlier entry {@code target} (both layer paths). */
        public Layer hardlink(String path, String target) {
            return add(new E(rel(path), TarConstants.LF_LINK, 0644, rel(target), null, null, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        public Layer charDevice(String path, int major, int minor, int mode) {
            return add(new E(rel(path), TarConstants.LF_CHR, mode, null, null, null, 0, 0, 0, 0, major, minor, Map.of()));
        }

        public Layer fifo(String path, int mode) {
            return add(new E(rel(path), TarConstants.LF_FIFO, mode, null, null, null, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        /** Deletes {@code path} of lower layers (an AUFS-style ".wh." entry). */
        public Layer whiteout(String path) {
            String r = rel(path);
            int slash = r.lastIndexOf('/');
            String name = slash < 0 ? ".wh." + r : r.substring(0, slash + 1) + ".wh." + r.substring(slash + 1);
            return add(new E(name, TarConstants.LF_NORMAL, 0644, null, new byte[0], null, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        /** Hides everything lower layers have in {@code dir} (".wh..wh..opq"). */
        public Layer opaque(String dir) {
            return add(new E(rel(dir) + "/.wh..wh..opq", TarConstants.LF_NORMAL, 0644, null, new byte[0], null, 0, 0,
                    0, 0, 0, 0, Map.of()));
        }

        /** An entry whose name is written verbatim ("../escape", "/etc/x"): for hostile-layer tests. */
        public Layer rawFile(String name, String content) {
            return add(new E(name, TarConstants.LF_NORMAL, 0644, null, content.getBytes(StandardCharsets.UTF_8), null,
                    0, 0, 0, 0, 0, 0, Map.of()));
        }

        /** A symlink entry with a verbatim name and target. */
        public Layer rawSymlink(String name, String target) {
            return add(new E(name, TarConstants.LF_SYMLINK, 0777, target, null, null, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        /** A hard link entry with a verbatim name and target. */
        public Layer rawHardlink(String name, String target) {
            return add(new E(name, TarConstants.LF_LINK, 0644, target, null, null, 0, 0, 0, 0, 0, 0, Map.of()));
        }

        private Layer add(E e) {
            entries.add(e);
            return this;
        }

        /** Writes the uncompressed tar to {@code out}. */
        public void writeTar(OutputStream out) throws IOException {
            TarArchiveOutputStream tar = new TarArchiveOutputStream(out);
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            tar.setAddPaxHeadersForNonAsciiNames(true);
            for (E e : entries) {
                TarArchiveEntry t = new TarArchiveEntry(e.name(), e.type(), true);
                t.setMode(e.mode());
                t.setUserId(e.uid());
                t.setGroupId(e.gid());
                t.setModTime(1_700_000_000_000L);
                if (e.link() != null) {
                    t.setLinkName(e.link());
                }
                if (e.type() == TarConstants.LF_CHR) {
                    t.setDevMajor(e.devMajor());
                    t.setDevMinor(e.devMinor());
                }
                e.xattrs().forEach((k, v) -> t.addPaxHeader("SCHILY.xattr." + k, v));
                long size = e.data() != null ? e.data().length
                        : e.hostFile() != null ? Files.size(e.hostFile())
                        : e.randomSize();
                if (e.type() == TarConstants.LF_NORMAL) {
                    t.setSize(size);
                }
                tar.putArchiveEntry(t);
                if (e.type() == TarConstants.LF_NORMAL) {
                    if (e.data() != null) {
                        tar.write(e.data());
                    } else if (e.hostFile() != null) {
                        try (InputStream in = Files.newInputStream(e.hostFile())) {
                            in.transferTo(tar);
                        }
                    } else {
                        writeRandom(tar, e.randomSize(), e.seed());
                    }
                }
                tar.closeArchiveEntry();
            }
            tar.finish();
            tar.flush();
        }

        Built build(Compression c) {
            try {
                Path file = Files.createTempFile("berth-layer-", ".blob");
                MessageDigest compressed = MessageDigest.getInstance("SHA-256");
                MessageDigest uncompressed = MessageDigest.getInstance("SHA-256");
                PassThrough counted;
                try (OutputStream raw = Files.newOutputStream(file)) {
                    counted = new PassThrough(new DigestOutputStream(new BufferedOutputStream(raw, 1 << 16), compressed));
                    OutputStream comp = switch (c) {
                        case GZIP -> new GZIPOutputStream(counted, 1 << 16);
                        case ZSTD -> new ZstdOutputStream(counted, 3);
                        case NONE -> new NonClosing(counted);
                    };
                    try (OutputStream tarOut = new DigestOutputStream(comp, uncompressed)) {
                        writeTar(tarOut);
                    }
                    counted.flush();
                }
                return new Built(file, "sha256:" + HexFormat.of().formatHex(compressed.digest()),
                        "sha256:" + HexFormat.of().formatHex(uncompressed.digest()), Files.size(file));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot build a test layer", e);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    record Built(Path file, String digest, String diffId, long size) {}

    private static void writeRandom(OutputStream out, long size, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] buf = new byte[1 << 16];
        long left = size;
        while (left > 0) {
            for (int i = 0; i < buf.length; i += 8) {
                long v = r.nextLong();
                for (int j = 0; j < 8; j++) {
                    buf[i + j] = (byte) (v >>> (j * 8));
                }
            }
            int n = (int) Math.min(buf.length, left);
            out.write(buf, 0, n);
            left -= n;
        }
    }

    private static final class PassThrough extends java.io.FilterOutputStream {
        PassThrough(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }
    }

    /** Lets the tar stream close without closing the file before we flush it. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }

    // ---- registry HTTP API (push side) ----

    private static void pushBlob(LocalRegistry reg, String repo, String digest, byte[] data) {
        upload(reg, repo, digest, HttpRequest.BodyPublishers.ofByteArray(data));
    }

    private static void pushBlob(LocalRegistry reg, String repo, String digest, Path file) {
        try {
            upload(reg, repo, digest, HttpRequest.BodyPublishers.ofFile(file));
        } catch (java.io.FileNotFoundException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void upload(LocalRegistry reg, String repo, String digest, HttpRequest.BodyPublisher body) {
        String base = reg.pushEndpoint() + "/v2/" + repo;
        HttpResponse<String> head = send(reg, HttpRequest.newBuilder(URI.create(base + "/blobs/" + digest))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
        if (head.statusCode() == 200) {
            return;
        }
        HttpResponse<String> start = send(reg, HttpRequest.newBuilder(URI.create(base + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        expect(start, 202, "start upload of " + digest);
        String location = start.headers().firstValue("Location").orElseThrow();
        URI loc = URI.create(reg.pushEndpoint()).resolve(location);
        String sep = loc.getRawQuery() == null ? "?" : "&";
        HttpResponse<String> put = send(reg, HttpRequest.newBuilder(URI.create(loc + sep + "digest=" + digest))
                .header("Content-Type", "application/octet-stream").PUT(body));
        expect(put, 201, "upload " + digest);
    }

    private static String putManifest(LocalRegistry reg, String repo, String tag, String mediaType, byte[] bytes) {
        HttpResponse<String> r = send(reg, HttpRequest.newBuilder(URI.create(reg.pushEndpoint() + "/v2/" + repo + "/manifests/" + tag))
                .header("Content-Type", mediaType).PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)));
        expect(r, 201, "put manifest " + repo + ":" + tag);
        return sha256(bytes);
    }

    private static HttpResponse<String> send(LocalRegistry reg, HttpRequest.Builder b) {
        if (reg.pushAuthorization() != null) {
            b.header("Authorization", reg.pushAuthorization());
        }
        try {
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void expect(HttpResponse<String> r, int code, String what) {
        if (r.statusCode() != code) {
            throw new IllegalStateException(what + ": HTTP " + r.statusCode() + " " + r.body());
        }
    }

    static byte[] bytes(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String sha256(byte[] b) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // temp file
        }
    }
}
