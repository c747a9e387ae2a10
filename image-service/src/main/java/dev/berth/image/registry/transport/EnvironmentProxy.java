package dev.berth.image.registry.transport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The proxy rules node daemons take from their environment (set in the systemd unit, as for
 * containerd): HTTPS_PROXY for https, HTTP_PROXY for http (upper or lower case), none for hosts
 * NO_PROXY lists (a name matches itself and its subdomains, a leading dot or "*." is optional,
 * "*" means all, an entry may carry a port; IP addresses and CIDR ranges match addresses) and never
 * for loopback names and addresses, as Go's net/http does.
 */
public final class EnvironmentProxy extends ProxySelector {
    private final Optional<InetSocketAddress> https;
    private final Optional<InetSocketAddress> http;
    private final List<String> noProxy;

    EnvironmentProxy(Optional<InetSocketAddress> https, Optional<InetSocketAddress> http, List<String> noProxy) {
        this.https = https;
        this.http = http;
        this.noProxy = noProxy;
    }

    public static EnvironmentProxy from(Map<String, String> env) {
        List<String> no = new ArrayList<>();
        for (String e : value(env, "NO_PROXY").orElse("").split(",")) {
            if (!e.isBlank()) {
                no.add(e.strip().toLowerCase(Locale.ROOT));
            }
        }
        return new EnvironmentProxy(value(env, "HTTPS_PROXY").map(EnvironmentProxy::address),
                value(env, "HTTP_PROXY").map(EnvironmentProxy::address), no);
    }

    /** Whether any proxy is configured (else the HTTP client goes direct). */
    public boolean configured() {
        return https.isPresent() || http.isPresent();
    }

    /** What the environment says, for logs. */
    public String describe() {
        return "https: " + https.map(Object::toString).orElse("direct") + ", http: "
                + http.map(Object::toString).orElse("direct") + ", no proxy for: " + noProxy;
    }

    private static Optional<String> value(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            v = env.get(name.toLowerCase(Locale.ROOT));
        }
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.strip());
    }

    /** "http://proxy:3128", "proxy:3128" or "http://proxy" (port 80 for http, 443 for https). */
    static InetSocketAddress address(String value) {
        URI u = URI.create(value.contains("://") ? value : "http://" + value);
        if (u.getHost() == null) {
            throw new IllegalArgumentException("proxy " + value + " names no host");
        }
        int port = u.getPort() > 0 ? u.getPort() : "https".equals(u.getScheme()) ? 443 : 80;
        return InetSocketAddress.createUnresolved(u.getHost(), port);
    }

    @Override
    public List<Proxy> select(URI uri) {
        Optional<InetSocketAddress> p = "https".equalsIgnoreCase(uri.getScheme()) ? https
                : "http".equalsIgnoreCase(uri.getScheme()) ? http : Optional.empty();
        if (p.isEmpty() || uri.getHost() == null || bypass(uri.getHost(), uri.getPort())) {
            return List.of(Proxy.NO_PROXY);
        }
        return List.of(new Proxy(Proxy.Type.HTTP, p.get()));
    }

    /** Whether host[:port] goes direct. */
    boolean bypass(String rawHost, int port) {
        String host = rawHost.toLowerCase(Locale.ROOT);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        if (host.equals("localhost") || host.endsWith(".localhost") || isLoopbackLiteral(host)) {
            return true;
        }
        for (String entry : noProxy) {
            if (entry.equals("*")) {
                return true;
            }
            String e = entry;
            int entryPort = -1;
            int colon = e.lastIndexOf(':');
            if (colon > 0 && !e.substring(0, colon).contains(":") && e.substring(colon + 1).matches("\\d+")) {
                entryPort = Integer.parseInt(e.substring(colon + 1));
                e = e.substring(0, colon);
            }
            if (entryPort > 0 && entryPort != port) {
                continue;
            }
            if (e.contains("/")) {
                if (inCidr(host, e)) {
                    return true;
                }
                continue;
            }
            if (e.startsWith("*.")) {
                e = e.substring(1);
            }
            String domain = e.startsWith(".") ? e.substring(1) : e;
            if (host.equals(domain) || host.endsWith("." + domain)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isLoopbackLiteral(String host) {
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
            return false;
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean inCidr(String host, String cidr) {
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
            return false; // a name is not looked up to match a range
        }
        try {
            String[] parts = cidr.split("/");
            byte[] net = InetAddress.getByName(parts[0]).getAddress();
            byte[] addr = InetAddress.getByName(host).getAddress();
            int bits = Integer.parseInt(parts[1]);
            if (net.length != addr.length) {
                return false;
            }
            for (int i = 0; i < bits; i++) {
                int mask = 0x80 >> (i % 8);
                if ((net[i / 8] & mask) != (addr[i / 8] & mask)) {
                    return false;
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
        // one proxy per scheme: nothing to fall back to
    }
}
