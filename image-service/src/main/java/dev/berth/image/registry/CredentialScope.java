package dev.berth.image.registry;

import dev.berth.image.ref.ImageReference;
import dev.berth.image.registry.auth.RegistryCredentials;
import java.util.Locale;

/**
 * Which registry a pull's credentials may go to (as containerd's ParseAuth): the host CRI's
 * {@code server_address} names, or, when it is empty, the registry of the image reference. A mirror
 * on another host gets the pull anonymously, and credentials never go to a plain-HTTP endpoint off
 * this node (they would cross the network in clear text); loopback registries may speak HTTP.
 */
public final class CredentialScope {
    private CredentialScope() {}

    /** {@code creds} when they may be sent to {@code ep}, otherwise none. */
    public static RegistryCredentials forEndpoint(RegistryCredentials creds, RegistryEndpoint ep, ImageReference ref) {
        if (creds.isEmpty()) {
            return creds;
        }
        String named = creds.serverAddress().isEmpty() ? ref.domain() : hostOf(creds.serverAddress());
        if (!normalize(named).equals(normalize(ep.host()))) {
            return RegistryCredentials.NONE;
        }
        if (ep.plainHttp() && !RegistryEndpoint.isLoopback(ep.host())) {
            return RegistryCredentials.NONE;
        }
        return creds;
    }

    /** "https://registry.example.com:5000/v1/" → "registry.example.com:5000". */
    static String hostOf(String serverAddress) {
        String s = serverAddress.trim();
        int scheme = s.indexOf("://");
        if (scheme >= 0) {
            s = s.substring(scheme + 3);
        }
        int slash = s.indexOf('/');
        return slash >= 0 ? s.substring(0, slash) : s;
    }

    /** Docker Hub has several names; host names are case-insensitive. */
    private static String normalize(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return switch (h) {
            case "index.docker.io", "registry-1.docker.io", "docker.io", "registry.hub.docker.com" -> "docker.io";
            default -> h;
        };
    }
}
