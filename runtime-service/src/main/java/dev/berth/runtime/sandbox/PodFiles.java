package dev.berth.runtime.sandbox;

import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import runtime.v1.DNSConfig;

/** The per-pod files containers mount: /etc/hosts, /etc/resolv.conf and /etc/hostname. */
public final class PodFiles {
    private PodFiles() {}

    public static Path hosts(Path podDir) {
        return podDir.resolve("hosts");
    }

    public static Path resolvConf(Path podDir) {
        return podDir.resolve("resolv.conf");
    }

    public static Path hostname(Path podDir) {
        return podDir.resolve("hostname");
    }

    /** hosts: localhost lines, plus the pod's own name on its IP (or the host's file for host-network pods). */
    public static String hostsContent(String hostname, List<String> podIps, boolean hostNetwork) {
        if (hostNetwork) {
            try {
                return Files.readString(Path.of("/etc/hosts"));
            } catch (IOException e) {
                // fall through to a minimal file
            }
        }
        StringBuilder b = new StringBuilder();
        b.append("127.0.0.1\tlocalhost\n");
        b.append("::1\tlocalhost ip6-localhost ip6-loopback\n");
        b.append("fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        for (String ip : podIps) {
            b.append(ip).append('\t').append(hostname).append('\n');
        }
        return b.toString();
    }

    /** resolv.conf from the DNSConfig; without one, the host's file (what kubelet's "Default" policy means). */
    public static String resolvContent(DNSConfig dns) {
        if (dns == null || (dns.getServersCount() == 0 && dns.getSearchesCount() == 0 && dns.getOptionsCount() == 0)) {
            try {
                return Files.readString(Path.of("/etc/resolv.conf"));
            } catch (IOException e) {
                return "";
            }
        }
        StringBuilder b = new StringBuilder();
        if (dns.getSearchesCount() > 0) {
            b.append("search ").append(String.join(" ", dns.getSearchesList())).append('\n');
        }
        for (String s : dns.getServersList()) {
            b.append("nameserver ").append(s).append('\n');
        }
        if (dns.getOptionsCount() > 0) {
            b.append("options ").append(String.join(" ", dns.getOptionsList())).append('\n');
        }
        return b.toString();
    }

    /** Writes a file of a new pod (nothing reads it before RunPodSandbox returns, so no rename dance). */
    public static void write(Path file, String content) {
        try {
            Files.writeString(file, content);
        } catch (IOException e) {
            throw BerthException.internal("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
