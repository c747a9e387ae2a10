package dev.berth.image.registry.transport;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;

/**
 * The HTTP clients registry traffic goes through: one shared client, and one per registry that has
 * a certs.d directory (its CAs and client certificate). All of them use the environment's proxy.
 * A registry's client is rebuilt when the files of its directory change, so new certificates need
 * no restart. Clients are made at first use: an idle daemon keeps no selector thread.
 */
public final class RegistryHttp implements AutoCloseable {
    /**
     * The JDK client's socket read buffer (its default is 16 KiB). Each buffer a body reader
     * consumes asks the client's selector thread for more (a wakeup, a context switch and a
     * re-registration); with 16 KiB a 200 MB layer cost about 12,000 of them, a third of the Java
     * time of a pull. It must be set before the client's classes load, so here, before any client
     * is built; an operator's own -Djdk.httpclient.bufsize wins.
     */
    static final int READ_BUFFER_BYTES = 256 * 1024;

    static {
        if (System.getProperty("jdk.httpclient.bufsize") == null) {
            System.setProperty("jdk.httpclient.bufsize", Integer.toString(READ_BUFFER_BYTES));
        }
    }

    private final Duration connectTimeout;
    private final EnvironmentProxy proxy;
    private final CertsDirectories certs;
    private final Map<String, PerHost> perHost = new ConcurrentHashMap<>();
    private HttpClient shared;

    private record PerHost(String fingerprint, HttpClient client) {}

    public RegistryHttp(Duration connectTimeout, EnvironmentProxy proxy, CertsDirectories certs) {
        this.connectTimeout = connectTimeout;
        this.proxy = proxy;
        this.certs = certs;
    }

    /** No proxy, no certs.d: the JDK's CAs only. */
    public static RegistryHttp plain(Duration connectTimeout) {
        return new RegistryHttp(connectTimeout, EnvironmentProxy.from(Map.of()), new CertsDirectories(java.util.List.of()));
    }

    /** The client for a request to {@code uri}. */
    public HttpClient clientFor(URI uri) {
        String authority = uri.getPort() > 0 ? uri.getHost() + ":" + uri.getPort() : uri.getHost();
        Optional<java.nio.file.Path> dir = "https".equals(uri.getScheme()) && authority != null
                ? certs.directoryFor(authority) : Optional.empty();
        if (dir.isEmpty()) {
            return shared();
        }
        String fp = CertsDirectories.fingerprint(dir.get());
        PerHost cur = perHost.get(authority);
        if (cur != null && cur.fingerprint().equals(fp)) {
            return cur.client();
        }
        PerHost next = new PerHost(fp, build(CertsDirectories.sslContext(dir.get())));
        PerHost old = perHost.put(authority, next);
        if (old != null) {
            old.client().shutdown(); // requests in flight finish
        }
        return next.client();
    }

    private synchronized HttpClient shared() {
        if (shared == null) {
            shared = build(null);
        }
        return shared;
    }

    private HttpClient build(SSLContext tls) {
        HttpClient.Builder b = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(connectTimeout)
                .executor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        if (proxy.configured()) {
            b.proxy(proxy);
        }
        if (tls != null) {
            b.sslContext(tls);
        }
        return b.build();
    }

    @Override
    public synchronized void close() {
        if (shared != null) {
            shared.shutdownNow();
            shared = null;
        }
        perHost.values().forEach(p -> p.client().shutdownNow());
        perHost.clear();
    }
}
