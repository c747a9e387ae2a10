package dev.berth.linux.host.system;

import dev.berth.linux.host.NetLinks;
import dev.berth.linux.net.Netlink;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** {@link NetLinks} over rtnetlink sockets and /sys/class/net. */
final class SystemNetLinks implements NetLinks {
    @Override
    public boolean exists(String name) {
        return Files.exists(Path.of("/sys/class/net", name));
    }

    @Override
    public List<String> bridgePorts(String bridge) {
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net", bridge, "brif"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of(); // not a bridge (any more)
        }
    }

    @Override
    public String macOf(String name) {
        try {
            return Files.readString(Path.of("/sys/class/net", name, "address")).strip();
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public int indexOf(String name) {
        return Netlink.indexOf(name);
    }

    @Override
    public void addVethIntoNamespace(String hostName, int mtu, int masterIndex, String peerName, byte[] peerMac,
            Path netns) {
        try (Netlink nl = Netlink.open()) {
            nl.addVethIntoNamespace(hostName, mtu, masterIndex, peerName, peerMac, netns);
        }
    }

    @Override
    public boolean delete(String name) {
        try (Netlink nl = Netlink.open()) {
            return nl.deleteLink(name);
        }
    }

    @Override
    public boolean detach(String name) {
        try (Netlink nl = Netlink.open()) {
            return nl.detachLink(name);
        }
    }

    @Override
    public void setHairpin(String port) {
        Path p = Path.of("/sys/class/net", port, "brport", "hairpin_mode");
        try {
            Files.writeString(p, "1");
        } catch (IOException e) {
            throw dev.berth.core.error.BerthException.internal("cannot write " + p + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void configureInside(Path netns, String ifName, List<Address> addresses, List<InetAddress> gateways) {
        NamespaceThread.run("link-config", () -> {
            Namespaces.join(netns, Namespaces.CLONE_NEWNET);
            try (Netlink nl = Netlink.open()) {
                nl.setUp(1, "lo"); // loopback is index 1 in every network namespace
                int index = Netlink.indexOf(ifName);
                nl.setUp(index, ifName);
                for (Address a : addresses) {
                    nl.addAddress(index, a.address(), a.prefix());
                }
                for (InetAddress gw : gateways) {
                    nl.addDefaultRoute(index, gw);
                }
            }
        });
    }
}
