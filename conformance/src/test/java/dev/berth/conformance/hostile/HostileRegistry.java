package dev.berth.conformance.hostile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.berth.conformance.harness.TestImages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;

/**
 * A registry on loopback that the test controls completely: it serves the manifests, configs and
 * blobs a test crafts (wrong sizes and digests, unknown media types, hostile layers), and any path
 * can be given a handler that misbehaves (stalls after headers, endless bodies, 401 and redirect
 * loops). Records each request's path and Authorization header.
 */
final class HostileRegistry implements AutoCloseable {
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    static final String LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    static final String LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
    private static final ObjectMapper JSON = new ObjectMapper();

    record Seen(String path, String authorization) {}

    private final HttpServer server;
    private final Map<String, byte[]> content = new ConcurrentHashMap<>();
    private final Map<String, String> types = new ConcurrentHashMap<>();
    private final Map<String, HttpHandler> overrides = new ConcurrentHashMap<>();
    final List<Seen> seen = new CopyOnWriteArrayList<>();

    HostileRegistry() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
    }

    String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    void override(String path, HttpHandler h) {
        overrides.put(path, h);
    }

    /** Serves {@code body} at /v2/{repo}/manifests/{ref} with a Content-Type. */
    void manifest(String repo, String ref, String type, byte[] body) {
        content.put("/v2/" + repo + "/manifests/" + ref, body);
        types.put("/v2/" + repo + "/manifests/" + ref, type);
    }

    void blob(String repo, String digest, byte[] body) {
        content.put("/v2/" + repo + "/blobs/" + digest, body);
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        seen.add(new Seen(path, auth == null ? "" : auth));
        try (ex) {
            HttpHandler o = overrides.get(path);
            if (o != null) {
                o.handle(ex);
                return;
            }
            if (path.equals("/v2/") || path.equals("/v2")) {
                send(ex, 200, "application/json", "{}".getBytes());
                return;
            }
            byte[] body = content.get(path);
            if (body != null) {
                send(ex, 200, types.getOrDefault(path, "application/octet-stream"), body);
                return;
            }
            send(ex, 404, "application/json", "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"not here\"}]}".getBytes());
        }
    }

    static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** Headers claiming {@code claimed} bytes, 16 bytes, then silence for {@code millis}. */
    static HttpHandler stallAfterHeaders(long claimed, long millis) {
        return ex -> {
            ex.sendResponseHeaders(200, claimed);
            OutputStream out = ex.getResponseBody();
            out.write(new byte[16]);
            out.flush();
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    /** {@code status} with a body that never ends (until the client hangs up). */
    static HttpHandler endless(int status, Map<String, String> headers) {
        return ex -> {
            headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
            ex.sendResponseHeaders(status, 0);
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) 'a');
            try (OutputStream out = ex.getResponseBody()) {
                for (long i = 0; i < 10_000_000; i++) {
                    out.write(chunk);
                }
            } catch (IOException hungUp) {
                // the client closed the connection, as it should
            }
        };
    }

    @Override
    public void close() {
        server.stop(0);
    }

    // ---- crafting images ----

    /** A layer blob and what a manifest says about it (each field can lie). */
    static final class LayerBlob {
        byte[] blob;
        String diffId;
        String digest;
        long size;
        String mediaType = LAYER_GZIP;

        static LayerBlob of(TestImages.Layer layer) {
            ByteArrayOutputStream tar = new ByteArrayOutputStream();
            try {
                layer.writeTar(tar);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return gzipped(tar.toByteArray());
        }

        static LayerBlob gzipped(byte[] tar) {
            ByteArrayOutputStream gz = new ByteArrayOutputStream();
            try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
                out.write(tar);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            LayerBlob l = raw(gz.toByteArray(), TestImages.sha256(tar));
            return l;
        }

        /** A blob served as it is (already compressed, or plain tar with {@link #LAYER_TAR}). */
        static LayerBlob raw(byte[] blob, String diffId) {
            LayerBlob l = new LayerBlob();
            l.blob = blob;
            l.diffId = diffId;
            l.digest = TestImages.sha256(blob);
            l.size = blob.length;
            return l;
        }
    }

    /** An image whose every descriptor can be made to lie before {@link #push}. */
    final class Image {
        final List<LayerBlob> layers;
        byte[] config;
        String configDigest;
        long configSize;
        String manifestType = OCI_MANIFEST;
        Consumer<ObjectNode> editManifest = m -> { };

        Image(LayerBlob... layers) {
            this.layers = List.of(layers);
            ObjectNode c = JSON.createObjectNode();
            c.put("architecture", "amd64").put("os", "linux");
            c.putObject("config").putArray("Cmd").add("sh");
            ObjectNode rootfs = c.putObject("rootfs");
            rootfs.put("type", "layers");
            ArrayNode ids = rootfs.putArray("diff_ids");
            for (LayerBlob l : layers) {
                ids.add(l.diffId);
            }
            config = bytes(c);
            configDigest = TestImages.sha256(config);
            configSize = config.length;
        }

        byte[] manifestBytes() {
            ObjectNode m = JSON.createObjectNode();
            m.put("schemaVersion", 2).put("mediaType", manifestType);
            m.putObject("config").put("mediaType", OCI_CONFIG).put("digest", configDigest).put("size", configSize);
            ArrayNode ls = m.putArray("layers");
            for (LayerBlob l : layers) {
                ls.addObject().put("mediaType", l.mediaType).put("digest", l.digest).put("size", l.size);
            }
            editManifest.accept(m);
            return bytes(m);
        }

        /** Serves config, layers and the manifest under {@code repo:tag}; returns "host/repo:tag". */
        String push(String repo, String tag) {
            blob(repo, configDigest, config);
            for (LayerBlob l : layers) {
                blob(repo, l.digest, l.blob);
            }
            manifest(repo, tag, manifestType, manifestBytes());
            return host() + "/" + repo + ":" + tag;
        }
    }

    static byte[] bytes(ObjectNode n) {
        try {
            return JSON.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ObjectNode object() {
        return JSON.createObjectNode();
    }
}
