package dev.berth.image.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.registry.auth.Challenge;
import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.image.registry.auth.TokenFetcher;
import dev.berth.image.registry.body.Bodies;
import dev.berth.image.registry.body.ResponseBody;
import dev.berth.image.registry.transport.HttpExchange;
import dev.berth.image.registry.transport.RegistryHttp;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one place that talks HTTP to registries: authorization (anonymous, basic, bearer-token
 * challenge flow, cached per registry + repository + credentials), redirects (Authorization is
 * dropped when a redirect leaves the registry host, e.g. to blob storage), and turning HTTP
 * statuses and the spec's error codes into {@link BerthException}s with a clear kind.
 */
public final class RegistryCaller {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REDIRECTS = 5;
    /** Error bodies are read for their error codes only, and bodies skipped before a retry at most this far. */
    static final int MAX_ERROR_BODY_BYTES = 64 * 1024;

    /** A response whose status was checked, with its headers and its watched body (the caller closes it). */
    public record Response(int status, HttpHeaders headers, ResponseBody body) {}

    private final Duration timeout;
    private final Duration stallTimeout;
    private final Map<String, String> authCache = new ConcurrentHashMap<>();
    private final RegistryHttp transport;
    private final TokenFetcher tokens;

    /**
     * @param requestTimeout how long a registry may take to send response headers
     * @param stallTimeout how long any response body may go without a byte arriving
     */
    public RegistryCaller(Duration connectTimeout, Duration requestTimeout, Duration stallTimeout) {
        this(RegistryHttp.plain(connectTimeout), requestTimeout, stallTimeout);
    }

    /** @param transport the HTTP clients: proxy and per-registry TLS (certs.d) */
    public RegistryCaller(RegistryHttp transport, Duration requestTimeout, Duration stallTimeout) {
        this.transport = transport;
        this.timeout = requestTimeout;
        this.stallTimeout = stallTimeout;
        this.tokens = new TokenFetcher(transport, requestTimeout, stallTimeout);
    }

    /** Forgets the transport's TLS settings (idle connections close on the JDK's keep-alive timer). */
    public void close() {
        transport.close();
    }

    private TokenFetcher tokens() {
        return tokens;
    }

    /**
     * GETs {@code /v2/<repository>/<path>} and returns the successful response with its body still to
     * read (the caller closes it). Non-2xx statuses are thrown as BerthException.
     */
    public Response get(RegistryEndpoint ep, String path, List<String> accept, RegistryCredentials creds,
            String what) {
        URI uri = URI.create(ep.baseUrl() + "/v2/" + ep.repository() + "/" + path);
        String scope = "repository:" + ep.repository() + ":pull";
        String cacheKey = ep.baseUrl() + "|" + scope + "|" + creds.cacheKey();
        String authorization = authCache.get(cacheKey);
        if (authorization == null && !creds.registryToken().isEmpty()) {
            authorization = "Bearer " + creds.registryToken();
        }
        Response r = execute(uri, accept, authorization, ep, what);
        if (r.status() == 401) {
            String header = r.headers().firstValue("WWW-Authenticate").orElse(null);
            discard(r.body());
            Challenge c = Challenge.parse(header).orElseThrow(() -> unauthenticated(ep, creds, what,
                    "it answered 401 without a WWW-Authenticate challenge"));
            if (c.isBasic()) {
                authorization = creds.basicHeader().orElseThrow(() -> unauthenticated(ep, creds, what,
                        "it requires basic auth and no username/password was given"));
            } else if (c.isBearer()) {
                authorization = "Bearer " + tokens().fetch(c, scope, creds, ep.host());
            } else {
                throw unauthenticated(ep, creds, what, "it asks for the unsupported auth scheme " + c.scheme());
            }
            authCache.put(cacheKey, authorization);
            r = execute(uri, accept, authorization, ep, what);
            if (r.status() == 401) {
                discard(r.body());
                authCache.remove(cacheKey);
                throw unauthenticated(ep, creds, what, creds.isEmpty() ? "it needs credentials and none were given"
                        : "it rejected the given credentials");
            }
        }
        if (r.status() / 100 == 2) {
            return r;
        }
        throw statusError(r, ep, what);
    }

    /**
     * Whether a request to {@code current}, reached from {@code original} through redirects, may carry
     * the registry's Authorization: only to the same host and port, and never over plain HTTP when the
     * registry spoke HTTPS (a downgrading redirect would put the credentials on the wire in clear).
     */
    static boolean mayAuthorize(URI original, URI current) {
        if (current.getAuthority() == null || !current.getAuthority().equalsIgnoreCase(original.getAuthority())) {
            return false;
        }
        return !("https".equals(original.getScheme()) && !"https".equals(current.getScheme()));
    }

    private Response execute(URI uri, List<String> accept, String authorization, RegistryEndpoint ep,
            String what) {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("User-Agent", "berth/0.1");
            if (!accept.isEmpty()) {
                headers.put("Accept", String.join(", ", accept));
            }
            if (authorization != null && mayAuthorize(uri, current)) {
                headers.put("Authorization", authorization);
            }
            HttpExchange r;
            try {
                r = transport.send(current, headers, null, timeout, stallTimeout);
            } catch (RegistryHttp.NoAnswerException e) {
                throw new BerthException(ErrorKind.UNAVAILABLE, what + ": no answer from registry " + ep.host() + " ("
                        + e.getMessage() + ")", e);
            } catch (IOException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw Bodies.cancelled(what, e);
                }
                if (e instanceof UnknownHostException) {
                    throw unreachable(ep, what, "its host name does not resolve", e);
                }
                if (e instanceof ConnectException || e instanceof SocketTimeoutException) {
                    throw unreachable(ep, what, "cannot connect to " + current.getScheme() + "://"
                            + current.getAuthority() + " (" + describe(e) + ")", e);
                }
                throw unreachable(ep, what, "the connection failed: " + describe(e), e);
            }
            ResponseBody body = new ResponseBody(r, "registry " + ep.host());
            int s = r.status();
            if (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) {
                String loc = r.headers().firstValue("Location").orElse(null);
                discard(body);
                if (loc == null) {
                    throw BerthException.precondition("%s: registry %s redirected without a Location", what, ep.host());
                }
                URI next;
                try {
                    next = current.resolve(loc);
                } catch (IllegalArgumentException e) {
                    throw BerthException.precondition("%s: registry %s redirected to a malformed location", what, ep.host());
                }
                if (!"http".equals(next.getScheme()) && !"https".equals(next.getScheme())) {
                    throw BerthException.precondition("%s: registry %s redirected to a non-HTTP location (%s)", what,
                            ep.host(), next.getScheme());
                }
                current = next;
                continue;
            }
            return new Response(s, r.headers(), body);
        }
        throw BerthException.precondition("%s: registry %s redirected more than %d times", what, ep.host(), MAX_REDIRECTS);
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isEmpty() ? e.getClass().getSimpleName() : m;
    }

    private static BerthException unreachable(RegistryEndpoint ep, String what, String detail, Throwable cause) {
        return new BerthException(ErrorKind.UNAVAILABLE, what + ": registry " + ep.host() + " is unreachable: " + detail
                + (ep.plainHttp() ? "" : " (HTTPS; mark it insecure in registries.conf if it only speaks HTTP)"), cause);
    }

    private static BerthException unauthenticated(RegistryEndpoint ep, RegistryCredentials creds, String what,
            String detail) {
        return new BerthException(ErrorKind.UNAUTHENTICATED, what + ": registry " + ep.host()
                + " refused access to repository " + ep.repository() + ": " + detail);
    }

    private BerthException statusError(Response r, RegistryEndpoint ep, String what) {
        String codes = errorCodes(r.body());
        int s = r.status();
        String detail = "HTTP " + s + (codes.isEmpty() ? "" : " " + codes);
        return switch (s) {
            case 404 -> new BerthException(ErrorKind.NOT_FOUND, what + ": not found in registry " + ep.host() + " ("
                    + detail + ")");
            case 403 -> new BerthException(ErrorKind.PERMISSION_DENIED, what + ": registry " + ep.host()
                    + " forbids access to " + ep.repository() + " (" + detail + ")");
            case 429 -> new BerthException(ErrorKind.RESOURCE_EXHAUSTED, what + ": registry " + ep.host()
                    + " is rate limiting pulls (" + detail + "); retry later");
            default -> s >= 500
                    ? new BerthException(ErrorKind.UNAVAILABLE, what + ": registry " + ep.host() + " failed (" + detail + ")")
                    : new BerthException(ErrorKind.FAILED_PRECONDITION, what + ": registry " + ep.host()
                            + " answered unexpectedly (" + detail + ")");
        };
    }

    /** "MANIFEST_UNKNOWN: manifest unknown" from the spec's error body, if any. */
    private static String errorCodes(InputStream body) {
        try (InputStream in = body) {
            byte[] bytes = in.readNBytes(MAX_ERROR_BODY_BYTES);
            JsonNode n = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder();
            for (JsonNode e : n.path("errors")) {
                if (!sb.isEmpty()) {
                    sb.append("; ");
                }
                sb.append(e.path("code").asText("")).append(": ").append(e.path("message").asText(""));
            }
            return sb.toString();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /**
     * Skips a small body so the connection can be reused; a larger or endless one is cut off by
     * closing the stream (which drops the connection).
     */
    private static void discard(InputStream body) {
        try (InputStream in = body) {
            in.readNBytes(MAX_ERROR_BODY_BYTES);
        } catch (IOException e) {
            // nothing to keep
        }
    }
}
