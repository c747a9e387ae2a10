package dev.berth.image.registry;

/**
 * Where one pull goes: the registry host as named in the image reference (or a mirror), the
 * repository path there, and whether it speaks plain HTTP.
 *
 * @param host "registry.example.com", "127.0.0.1:5000"; "docker.io" is contacted as registry-1.docker.io
 * @param repository "library/busybox"
 * @param mirror whether this is a mirror (a failure there falls through to the next source)
 */
public record RegistryEndpoint(String host, String repository, boolean plainHttp, boolean mirror) {

    /** Base URL of the registry API, without the trailing /v2/. */
    public String baseUrl() {
        String apiHost = host.equals("docker.io") ? "registry-1.docker.io" : host;
        return (plainHttp ? "http://" : "https://") + apiHost;
    }

    /** Registries on loopback addresses speak plain HTTP by default (as in containerd and Docker). */
    public static boolean isLoopback(String host) {
        String h = host;
        if (h.startsWith("[")) {
            h = h.substring(1, h.indexOf(']') > 0 ? h.indexOf(']') : h.length());
        } else if (h.indexOf(':') >= 0) {
            h = h.substring(0, h.indexOf(':'));
        }
        return h.equals("localhost") || h.equals("::1") || h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    @Override
    public String toString() {
        return host + "/" + repository;
    }
}
