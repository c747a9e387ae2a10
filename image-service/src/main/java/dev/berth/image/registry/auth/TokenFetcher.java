package dev.berth.image.registry.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.registry.body.Bodies;
import dev.berth.image.registry.body.ResponseBody;
import dev.berth.image.registry.transport.HttpExchange;
import dev.berth.image.registry.transport.RegistryHttp;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The token step of the distribution auth flow: asks the challenge's realm for a bearer token for
 * {@code service} and {@code scope}, with basic credentials (GET) or an identity token (OAuth2 POST,
 * grant_type=refresh_token). Anonymous requests get anonymous tokens where the registry allows them.
 */
public final class TokenFetcher {
    /** Token responses are small JSON documents; anything larger is refused rather than held in memory. */
    public static final int MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();
    private final RegistryHttp http;
    private final Duration timeout;
    private final Duration stallTimeout;

    /** @param http the transport (proxy, per-host TLS) */
    public TokenFetcher(RegistryHttp http, Duration timeout, Duration stallTimeout) {
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
        URI target;
        String form = null;
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("User-Agent", "berth/0.1");
        if (!creds.identityToken().isEmpty()) {
            form = "grant_type=refresh_token&client_id=berth&service=" + enc(service) + "&scope=" + enc(useScope)
                    + "&refresh_token=" + enc(creds.identityToken());
            target = realmUri;
        } else {
            String q = "service=" + enc(service) + (useScope == null ? "" : "&scope=" + enc(useScope));
            target = URI.create(realm + (realm.contains("?") ? "&" : "?") + q);
            creds.basicHeader().ifPresent(h -> headers.put("Authorization", h));
        }
        String what = "the token server " + realm + " of registry " + registry;
        HttpExchange r;
        try {
            r = http.send(target, headers, form, timeout, stallTimeout);
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) {
                throw Bodies.cancelled("fetching a token from " + realm, e);
            }
            throw BerthException.unavailable("cannot reach the token server " + realm + " of registry " + registry
                    + ": " + e.getMessage(), e);
        }
        // Read (bounded, watched for stalls) before looking at the status: error bodies are bounded too.
        byte[] body = Bodies.readLimited(new ResponseBody(r, what),
                MAX_TOKEN_RESPONSE_BYTES, what);
        if (r.status() == 401 || r.status() == 403) {
            throw new BerthException(ErrorKind.UNAUTHENTICATED, "the token server " + realm + " of registry " + registry
                    + " rejected " + (creds.isEmpty() ? "the anonymous request (this image needs credentials)"
                            : "the given credentials") + " (HTTP " + r.status() + ")");
        }
        if (r.status() / 100 != 2) {
            throw BerthException.unavailable("the token server " + realm + " of registry " + registry + " answered HTTP "
                    + r.status(), null);
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
