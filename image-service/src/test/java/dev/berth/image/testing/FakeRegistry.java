package dev.berth.image.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A registry on loopback for tests: serves manifests and blobs put into it, and lets a test replace
 * any path's handler to misbehave (stall, send endless bodies, redirect, challenge). Records every
 * request's path and Authorization header.
 */
public final class FakeRegistry implements AutoCloseable {
    /** One request as seen: path and its Authorization header ("" if none). */
    public record Seen(String path, String authorization) {}

    private final HttpServer server;
    private final Map<String, byte[]> manifests = new ConcurrentHashMap<>();
    private final Map<String, String> manifestTypes = new ConcurrentHashMap<>();
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final Map<String, HttpHandler> overrides = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private volatile HttpHandler gate;

    private FakeRegistry(HttpServer server) {
        this.server = server;
    }

    public static FakeRegistry start() throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        FakeRegistry r = new FakeRegistry(s);
        s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        s.createContext("/", r::handle);
        s.start();
        return r;
    }

    /** "127.0.0.1:port". */
    public String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    public List<Seen> seen() {
        return List.copyOf(seen);
    }

    public void putManifest(String repo, String reference, String mediaType, byte[] body) {
        manifests.put(repo + "/" + reference, body);
        manifestTypes.put(repo + "/" + reference, mediaType);
    }

    public void putBlob(String digest, byte[] body) {
        blobs.put(digest, body);
    }

    /** Replaces the handler of one exact path (e.g. "/v2/app/manifests/1"). */
    public void override(String path, HttpHandler h) {
        overrides.put(path, h);
    }

    /** Runs before every request; a gate that answers ends the request there (e.g. a 401 challenge). */
    public void gate(HttpHandler h) {
        gate = h;
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        seen.add(new Seen(path, ex.getRequestHeaders().getFirst("Authorization") == null ? ""
                : ex.getRequestHeaders().getFirst("Authorization")));
        try (ex) {
            HttpHandler g = gate;
            if (g != null) {
                g.handle(ex);
                if (ex.getResponseCode() != -1) {
                    return;
                }
            }
            HttpHandler o = overrides.get(path);
            if (o != null) {
                o.handle(ex);
                return;
            }
            if (path.equals("/v2/") || path.equals("/v2")) {
                send(ex, 200, "application/json", "{}".getBytes());
                return;
            }
            int m = path.indexOf("/manifests/");
            int b = path.indexOf("/blobs/");
            if (path.startsWith("/v2/") && m > 0) {
                String key = path.substring(4, m) + "/" + path.substring(m + 11);
                byte[] body = manifests.get(key);
                if (body != null) {
                    send(ex, 200, manifestTypes.get(key), body);
                    return;
                }
            } else if (path.startsWith("/v2/") && b > 0) {
                byte[] body = blobs.get(path.substring(b + 7));
                if (body != null) {
                    send(ex, 200, "application/octet-stream", body);
                    return;
                }
            }
            send(ex, 404, "application/json", "{\"errors\":[{\"code\":\"NOT_FOUND\",\"message\":\"not here\"}]}".getBytes());
        }
    }

    public static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** Sends headers for {@code claimed} bytes, a few bytes, then nothing for {@code millis}. */
    public static HttpHandler stallAfterHeaders(long claimed, long millis) {
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

    /** Answers {@code status} with a chunked body that never ends (until the client hangs up). */
    public static HttpHandler endless(int status, String headerName, String headerValue) {
        return ex -> {
            if (headerName != null) {
                ex.getResponseHeaders().set(headerName, headerValue);
            }
            ex.sendResponseHeaders(status, 0);
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) 'a');
            try (OutputStream out = ex.getResponseBody()) {
                for (long i = 0; i < 1_000_000; i++) {
                    out.write(chunk);
                }
            } catch (IOException hungUp) {
                // the client closed the connection: what it should do
            }
        };
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
