package dev.berth.image.registry.transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocketFactory;

/**
 * HTTP/1.1 to registries and token servers, through the environment's proxy and, for a registry
 * with a certs.d directory, its CAs and client certificate (re-read when the directory's files
 * change, so new certificates need no restart). A host's certs.d state is looked at again at most
 * every {@link #CERTS_RECHECK}, not at every request: a pull sends one request per blob.
 *
 * <p>It is the JDK's {@link HttpURLConnection}, not {@code java.net.http.HttpClient}, because of
 * what a pull costs the daemon: the latter reads every byte into a newly allocated heap buffer that
 * it hands on, so a 200 MB layer was 200 MB of garbage, and the buffers still queued at each young
 * collection of the daemon's small young generation were copied and promoted (a third of a pull's
 * CPU was the collector). Here a body read goes from the socket into the reader's own array, and
 * idle connections are kept for reuse per host, proxy and TLS settings.
 */
public final class RegistryHttp implements AutoCloseable {
    /** How long a host's certs.d directory (or its absence) is taken as last seen: a changed file counts after this. */
    static final Duration CERTS_RECHECK = Duration.ofSeconds(5);

    private final Duration connectTimeout;
    private final EnvironmentProxy proxy;
    private final CertsDirectories certs;
    private final LongSupplier nanoTime;
    private final Map<String, PerHost> perHost = new ConcurrentHashMap<>();

    /** A host's certs.d directory as last seen, its TLS settings (null: none) and when it was looked at. */
    private record PerHost(Optional<Path> dir, String fingerprint, SSLSocketFactory tls, long checkedAt) {}

    public RegistryHttp(Duration connectTimeout, EnvironmentProxy proxy, CertsDirectories certs) {
        this(connectTimeout, proxy, certs, System::nanoTime);
    }

    /** @param nanoTime the clock of {@link #CERTS_RECHECK} (tests move it) */
    RegistryHttp(Duration connectTimeout, EnvironmentProxy proxy, CertsDirectories certs, LongSupplier nanoTime) {
        this.connectTimeout = connectTimeout;
        this.proxy = proxy;
        this.certs = certs;
        this.nanoTime = nanoTime;
    }

    /** No proxy, no certs.d: the JDK's CAs only. */
    public static RegistryHttp plain(Duration connectTimeout) {
        return new RegistryHttp(connectTimeout, EnvironmentProxy.from(Map.of()), new CertsDirectories(List.of()));
    }

    /** The response headers did not arrive within the request's deadline. */
    public static final class NoAnswerException extends IOException {
        NoAnswerException(String message) {
            super(message);
        }
    }

    /**
     * Sends one request without following redirects and returns once the response headers are in.
     * No read waits more than {@code stallTimeout} for a byte (headers and body alike), and all the
     * headers must have come {@code headerTimeout} after the connection was made: else {@link
     * NoAnswerException}. Connecting fails as the JDK says (ConnectException, UnknownHostException,
     * SocketTimeoutException after the connect timeout).
     *
     * @param form a request body sent as application/x-www-form-urlencoded (POST), or null for a GET
     */
    public HttpExchange send(URI uri, Map<String, String> headers, String form, Duration headerTimeout,
            Duration stallTimeout) throws IOException {
        Proxy via = proxy.configured() ? proxy.select(uri).getFirst() : Proxy.NO_PROXY;
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection(via);
        if (c instanceof HttpsURLConnection https) {
            tlsFor(uri).ifPresent(https::setSSLSocketFactory);
        }
        c.setInstanceFollowRedirects(false);
        c.setUseCaches(false);
        c.setConnectTimeout(millis(connectTimeout));
        c.setReadTimeout(millis(stallTimeout)); // the socket's timeout: every read, body included
        c.setRequestProperty("Accept", "*/*"); // else the JDK's default names HTML and images
        headers.forEach(c::setRequestProperty);
        byte[] body = form == null ? null : form.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (body != null) {
            c.setRequestMethod("POST");
            c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
            c.setDoOutput(true); // buffered, not streamed: streamed, the JDK drops a 401 answer's body
        }
        c.connect();
        HeaderDeadline deadline = new HeaderDeadline(c, headerTimeout);
        int status;
        try {
            if (body != null) {
                try (OutputStream out = c.getOutputStream()) {
                    out.write(body);
                }
            }
            status = c.getResponseCode();
        } catch (SocketTimeoutException e) {
            deadline.cancel();
            c.disconnect();
            throw new NoAnswerException(uri.getAuthority() + " sent nothing for " + describe(stallTimeout));
        } catch (IOException e) {
            if (!deadline.cancel()) {
                throw noAnswer(uri, headerTimeout);
            }
            throw e;
        }
        if (!deadline.cancel()) {
            throw noAnswer(uri, headerTimeout); // it disconnected just as the headers came
        }
        if (status < 0) {
            c.disconnect();
            throw new IOException("the answer from " + uri.getAuthority() + " is not HTTP");
        }
        InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        return new HttpExchange(status, headersOf(c), in == null ? InputStream.nullInputStream() : in,
                c::disconnect, stallTimeout);
    }

    private static NoAnswerException noAnswer(URI uri, Duration headerTimeout) {
        return new NoAnswerException(uri.getAuthority() + " did not answer within " + describe(headerTimeout));
    }

    /** A timeout as messages give it: "60 s", or "700 ms" when it is no whole number of seconds. */
    public static String describe(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static int millis(Duration d) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, d.toMillis()));
    }

    /** Drops the connection when the response headers are late (a read timeout alone restarts at every byte). */
    private static final class HeaderDeadline {
        private static final int WAITING = 0;
        private static final int ANSWERED = 1;
        private static final int PASSED = 2;
        private final AtomicInteger state = new AtomicInteger(WAITING);
        private final Thread timer;

        HeaderDeadline(HttpURLConnection c, Duration limit) {
            timer = Thread.ofVirtual().name("registry-header-deadline").start(() -> {
                try {
                    Thread.sleep(limit);
                } catch (InterruptedException e) {
                    return;
                }
                if (state.compareAndSet(WAITING, PASSED)) {
                    c.disconnect();
                }
            });
        }

        /** Stops the timer; false when the deadline had already passed (and the connection is dropped). */
        boolean cancel() {
            boolean answered = state.compareAndSet(WAITING, ANSWERED) || state.get() == ANSWERED;
            timer.interrupt();
            return answered;
        }
    }

    private static HttpHeaders headersOf(HttpURLConnection c) {
        Map<String, List<String>> named = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        c.getHeaderFields().forEach((name, values) -> {
            if (name != null) { // the status line
                named.put(name, values);
            }
        });
        return HttpHeaders.of(named, (n, v) -> true);
    }

    /**
     * The TLS settings of the registry's certs.d directory, when it has one: as last seen if that was
     * less than {@link #CERTS_RECHECK} ago, else after looking at the directory again.
     */
    Optional<SSLSocketFactory> tlsFor(URI uri) {
        String authority = uri.getPort() > 0 ? uri.getHost() + ":" + uri.getPort() : uri.getHost();
        if (authority == null) {
            return Optional.empty();
        }
        long now = nanoTime.getAsLong();
        PerHost cur = perHost.get(authority);
        if (cur != null && now - cur.checkedAt() < CERTS_RECHECK.toNanos()) {
            return Optional.ofNullable(cur.tls());
        }
        Optional<Path> dir = certs.directoryFor(authority);
        String fp = dir.map(CertsDirectories::fingerprint).orElse("");
        SSLSocketFactory tls;
        if (cur != null && cur.dir().equals(dir) && cur.fingerprint().equals(fp)) {
            tls = cur.tls(); // unchanged: the same factory, so its pooled connections stay in use
        } else {
            // A new factory also keeps the old one's pooled connections from being reused.
            tls = dir.isEmpty() ? null : CertsDirectories.sslContext(dir.get()).getSocketFactory();
        }
        perHost.put(authority, new PerHost(dir, fp, tls, now));
        return Optional.ofNullable(tls);
    }

    /** Forgets the TLS settings; idle connections close on the JDK's keep-alive timer. */
    @Override
    public void close() {
        perHost.clear();
    }
}
