package dev.berth.cni;

import dev.berth.core.error.BerthException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Set;

/**
 * A hostPort: the CNI portMappings capability entry. Every field ends up in iptables-restore input
 * and in plugin configs, so a mapping is checked when it is made: ports 1..65535, protocol tcp, udp
 * or sctp (lower case; empty means tcp), host IP empty or an IPv4 or IPv6 literal without a zone,
 * kept in its canonical form. Anything else is INVALID_ARGUMENT.
 */
public record PortMapping(int hostPort, int containerPort, String protocol, String hostIP) {
    private static final Set<String> PROTOCOLS = Set.of("tcp", "udp", "sctp");

    public PortMapping {
        if (hostPort < 1 || hostPort > 65535 || containerPort < 1 || containerPort > 65535) {
            throw BerthException.invalid("port mapping %d->%d is out of range 1..65535", hostPort, containerPort);
        }
        protocol = protocol == null || protocol.isEmpty() ? "tcp" : protocol.toLowerCase(Locale.ROOT);
        if (!PROTOCOLS.contains(protocol)) {
            throw BerthException.invalid("port mapping %d->%d: protocol \"%s\" is not tcp, udp or sctp", hostPort,
                    containerPort, printable(protocol));
        }
        hostIP = canonicalIp(hostIP, hostPort);
    }

    /** Whether the mapping is bound to an IPv6 host address (an IPv4 firewall leaves it out). */
    public boolean ipv6HostIp() {
        return hostIP.contains(":");
    }

    private static String canonicalIp(String ip, int hostPort) {
        if (ip == null || ip.isEmpty()) {
            return "";
        }
        // a literal only: no name lookup, no zone (a zone id is free text), no surrounding space
        if (ip.length() > 45 || ip.indexOf('%') >= 0 || !ip.chars().allMatch(c -> isHexDigit(c) || c == '.' || c == ':')) {
            throw invalidIp(ip, hostPort);
        }
        InetAddress a;
        try {
            a = InetAddress.ofLiteral(ip);
        } catch (IllegalArgumentException e) {
            throw invalidIp(ip, hostPort);
        }
        if (!(a instanceof Inet6Address) && !ip.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            throw invalidIp(ip, hostPort); // the short forms inet_aton takes ("10.1", "127.1")
        }
        return a.getHostAddress();
    }

    private static boolean isHexDigit(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static BerthException invalidIp(String ip, int hostPort) {
        return BerthException.invalid("port mapping of host port %d: host_ip \"%s\" is not an IPv4 or IPv6 address",
                hostPort, printable(ip));
    }

    /** The text with control characters shown escaped and cut to 64 characters, for messages. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return s.length() > 64 ? b + "..." : b.toString();
    }
}
