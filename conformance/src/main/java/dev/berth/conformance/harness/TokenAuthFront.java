package dev.berth.conformance.harness;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bearer-token flow of the distribution spec, in front of a plain registry: {@code /v2/...}
 * without a valid token gets 401 with a {@code WWW-Authenticate: Bearer realm=...,service=...,scope=...}
 * challenge; {@code GET /token} trades basic credentials for a token (and a refresh token),
 * {@code POST /token} (OAuth2, grant_type=refresh_token) trades a refresh token ("identity token")
 * for one; requests with a token are proxied to the registry. Runs inside the test JVM.
 */
final class TokenAuthFront implements AutoCloseable {
    static final String SERVICE = "berth-test-registry";

    private final HttpServer server;
    private final String upstream;
    private final String user;
    private final String password;
    private final Set<String> tokens = ConcurrentHashMap.newKeySet();
    private final Set<String> refreshTokens = ConcurrentHashMap.newKeySet();
    private final AtomicInteger issued = new AtomicInteger();
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    private final SecureRandom random = new SecureRandom();

    private TokenAuthFront(HttpServer server, String upstream, String user, String password) {
        this.server = server;
        this.upstream = upstream;
        this.user = user;
        this.password = password;
    }

    static TokenAuthFront start(String upstream, String user, String password) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        TokenAuthFront front = new TokenAuthFront(server, upstream, user, password);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/token", front::token);
        server.createContext("/v2/", front::proxy);
        server.start();
        return front;
    }

    String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    int tokensIssued() {
        return issued.get();
    }

    /** Issues a token and a refresh token directly, as a login tool would have: {token, refresh}. */
    String[] login() {
        String token = newToken();
        String refresh = newToken();
        tokens.add(token);
        refreshTokens.add(refresh);
        return new String[] {token, refresh};
    }

    private void token(HttpExchange ex) throws IOException {
        try (ex) {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            String query = ex.getRequestURI().getRawQuery();
            boolean ok = false;
            if (ex.getRequestMethod().equals("POST")) {
                // OAuth2 form (what clients do with an identity token): grant_type=refresh_token&refresh_token=...
                String form = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                Map<String, String> f = new java.util.HashMap<>();
                for (String kv : form.split("&")) {
                    int eq = kv.indexOf('=');
                    if (eq > 0) {
                        f.put(java.net.URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                                java.net.URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
                    }
                }
                ok = "refresh_token".equals(f.get("grant_type")) && refreshTokens.contains(f.getOrDefault("refresh_token", ""));
                query = "service=" + f.getOrDefault("service", "");
            } else if (auth != null && auth.startsWith("Basic ")) {
                String decoded = new String(Base64.getDecoder().decode(auth.substring(6).trim()), StandardCharsets.UTF_8);
                ok = decoded.equals(user + ":" + password);
            } else if (auth != null && auth.startsWith("Bearer ")) {
                ok = refreshTokens.contains(auth.substring(7).trim());
            }
            if (!ok || query == null || !query.contains("service=" + SERVICE)) {
                byte[] body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}"
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(401, body.length);
                ex.getResponseBody().write(body);
                return;
            }
            String token = newToken();
            String refresh = newToken();
            tokens.add(token);
            refreshTokens.add(refresh);
            issued.incrementAndGet();
            byte[] body = ("{\"token\":\"" + token + "\",\"access_token\":\"" + token
                    + "\",\"refresh_token\":\"" + refresh + "\",\"expires_in\":300}").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
        }
    }

    private String newToken() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private void proxy(HttpExchange ex) throws IOException {
        try (ex) {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth == null || !auth.startsWith("Bearer ") || !tokens.contains(auth.substring(7).trim())) {
                String path = ex.getRequestURI().getPath();
                String scope = scopeOf(path);
                ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + host() + "/token\",service=\""
                        + SERVICE + "\"" + (scope == null ? "" : ",scope=\"" + scope + "\""));
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.getResponseHeaders().add("Docker-Distribution-API-Version", "registry/2.0");
                byte[] body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}"
                        .getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(401, body.length);
                ex.getResponseBody().write(body);
                return;
            }
            HttpRequest.Builder req = HttpRequest.newBuilder(URI.create("http://" + upstream + ex.getRequestURI()));
            for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
                String name = h.getKey();
                if (name.equalsIgnoreCase("Accept")) {
                    h.getValue().forEach(v -> req.header("Accept", v));
                }
            }
            req.method(ex.getRequestMethod(), HttpRequest.BodyPublishers.noBody());
            HttpResponse<InputStream> resp;
            try {
                resp = http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            for (String h : List.of("Content-Type", "Docker-Content-Digest", "Location", "Docker-Distribution-API-Version")) {
                resp.headers().firstValue(h).ifPresent(v -> ex.getResponseHeaders().add(h, v));
            }
            long length = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
            boolean head = ex.getRequestMethod().equals("HEAD");
            ex.sendResponseHeaders(resp.statusCode(), head ? -1 : (length == 0 ? -1 : (length < 0 ? 0 : length)));
            try (InputStream in = resp.body(); OutputStream out = ex.getResponseBody()) {
                if (!head) {
                    in.transferTo(out);
                }
            }
        }
    }

    /** "repository:library/busybox:pull" for /v2/library/busybox/manifests/1.36. */
    private static String scopeOf(String path) {
        String rest = path.substring("/v2/".length());
        for (String marker : List.of("/manifests/", "/blobs/", "/tags/")) {
            int i = rest.indexOf(marker);
            if (i > 0) {
                return "repository:" + rest.substring(0, i) + ":pull";
            }
        }
        return null;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
