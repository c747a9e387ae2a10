package dev.berth.image.registry.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.registry.body.Bodies;
import dev.berth.image.registry.body.ResponseBody;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The token step of the distribution auth flow: asks the challenge's realm for a bearer token for
 * {@code service} and {@code scope}, with basic credentials (GET) or an identity token (OAuth2 POST,
 * grant_type=refresh_token). Anonymous requests get anonymous tokens where the registry allows them.
 */
public final class TokenFetcher {
    /** Token responses are small JSON documents; anything larger is refused rather than held in memory. */
    public static final int MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();
    private final java.util.function.Function<URI, HttpClient> http;
    private final Duration timeout;
    private final Duration stallTimeout;

    /** @param http the client for a token server's URI (proxy, per-host TLS) */
    public TokenFetcher(java.util.function.Function<URI, HttpClient> http, Duration timeout, Duration stallTimeout) {
        this.http = http;
        this.timeout = timeout;
        this.stallTimeout = stallTimeout;
    }

    /** Returns the bearer token. */
    public String fetch(Challenge c, String scope, RegistryCredentials creds, String registry) {
        String realm = c.params().get("realm");
        if (realm == null || realm.isEmpty()) {
            throw BerthException.precondition("registry %s sent a bearer challenge without a realm", registry);
        }
        String service = c.params().getOrDefault("service", "");
        String challengeScope = c.params().get("scope");
        String useScope = challengeScope != null && !challengeScope.isEmpty() ? challengeScope : scope;
        URI realmUri;
        try {
            realmUri = URI.create(realm);
            if (realmUri.getScheme() == null || !(realmUri.getScheme().equals("https") || realmUri.getScheme().equals("http"))) {
                throw new IllegalArgumentException("not http(s)");
            }
        } catch (IllegalArgumentException e) {
            throw BerthException.precondition("registry %s sent an unusable token realm %s", registry, realm);
        }
        // Credentials never travel in clear text: a plain-HTTP realm (other than on this node) gets an
        // anonymous request.
        if (!"https".equals(realmUri.getScheme()) && !isLoopback(realmUri.getHost())) {
            creds = RegistryCredentials.NONE;
        }
        HttpRequest.Builder req;
        if (!creds.identityToken().isEmpty()) {
            String form = "grant_type=refresh_token&client_id=berth&service=" + enc(service) + "&scope=" + enc(useScope)
                    + "&refresh_token=" + enc(creds.identityToken());
            req = HttpRequest.newBuilder(realmUri).header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(form));
        } else {
            String q = "service=" + enc(service) + (useScope == null ? "" : "&scope=" + enc(useScope));
            req = HttpRequest.newBuilder(URI.create(realm + (realm.contains("?") ? "&" : "?") + q)).GET();
            creds.basicHeader().ifPresent(h -> req.header("Authorization", h));
        }
        HttpResponse<InputStream> r;
        try {
            r = http.apply(realmUri).send(req.timeout(timeout).build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw BerthException.unavailable("cannot reach the token server " + realm + " of registry " + registry
                    + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Bodies.cancelled("fetching a token from " + realm, e);
        }
        String what = "the token server " + realm + " of registry " + registry;
        // Read (bounded, watched for stalls) before looking at the status: error bodies are bounded too.
        byte[] body = Bodies.readLimited(new ResponseBody(r.body(), what, stallTimeout), MAX_TOKEN_RESPONSE_BYTES, what);
        if (r.statusCode() == 401 || r.statusCode() == 403) {
            throw new BerthException(ErrorKind.UNAUTHENTICATED, "the token server " + realm + " of registry " + registry
                    + " rejected " + (creds.isEmpty() ? "the anonymous request (this image needs credentials)"
                            : "the given credentials") + " (HTTP " + r.statusCode() + ")");
        }
        if (r.statusCode() / 100 != 2) {
            throw BerthException.unavailable("the token server " + realm + " of registry " + registry + " answered HTTP "
                    + r.statusCode(), null);
        }
        try {
            JsonNode n = JSON.readTree(body);
            String token = n.path("token").asText("");
            if (token.isEmpty()) {
                token = n.path("access_token").asText("");
            }
            if (token.isEmpty()) {
                throw BerthException.precondition("the token server %s of registry %s answered without a token", realm, registry);
            }
            if (!RegistryCredentials.headerSafe(token)) {
                throw BerthException.precondition("the token server %s of registry %s sent a token with characters"
                        + " an HTTP header cannot carry", realm, registry);
            }
            return token;
        } catch (IOException e) {
            throw BerthException.precondition("the token server %s of registry %s sent invalid JSON", realm, registry);
        }
    }

    private static boolean isLoopback(String host) {
        return host != null && (host.equals("localhost") || host.equals("[::1]") || host.equals("::1")
                || host.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}"));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s == null ? "" : s, StandardCharsets.UTF_8);
    }
}
