package dev.berth.linux.testing;

import dev.berth.linux.Errno;
import dev.berth.linux.host.NetLinks;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Links of the daemon's network namespace by name, each veth with its peer in a pod netns (which
 * must be pinned). Deleting a veth deletes its peer, as in the kernel.
 */
public final class FakeNetLinks implements NetLinks {
    private record Link(String name, int index, String master, Path peerNetns, String peerName) {}

    private final FakeLinuxHost host;
    private final Map<String, Link> links = new LinkedHashMap<>();
    private int nextIndex = 2;

    FakeNetLinks(FakeLinuxHost host) {
        this.host = host;
    }

    /** A device that exists before the test (a bridge), without a recorded call. */
    public FakeNetLinks given(String name) {
        synchronized (host) {
            links.put(name, new Link(name, nextIndex++, null, null, null));
            return this;
        }
    }

    @Override
    public boolean exists(String name) {
        synchronized (host) {
            host.record("links.exists", name);
            return links.containsKey(name);
        }
    }

    @Override
    public List<String> bridgePorts(String bridge) {
        synchronized (host) {
            host.record("links.bridgePorts", bridge);
            return links.values().stream().filter(l -> bridge.equals(l.master())).map(Link::name).toList();
        }
    }

    @Override
    public String macOf(String name) {
        synchronized (host) {
            host.record("links.macOf", name);
            Link l = links.get(name);
            return l == null ? "" : String.format("02:00:00:00:%02x:%02x", l.index() >> 8 & 0xff, l.index() & 0xff);
        }
    }

    @Override
    public int indexOf(String name) {
        synchronized (host) {
            host.record("links.indexOf", name);
            Link l = links.get(name);
            return l == null ? 0 : l.index();
        }
    }

    @Override
    public void addVethIntoNamespace(String hostName, int mtu, int masterIndex, String peerName, byte[] peerMac,
            Path netns) {
        synchronized (host) {
            host.record("links.addVethIntoNamespace", hostName, mtu, masterIndex, peerName, netns);
            if (links.containsKey(hostName)) {
                throw FakeLinuxHost.error("netlink", hostName, Errno.EEXIST, "File exists");
            }
            if (host.mounts().at(netns) == null) {
                throw FakeLinuxHost.error("netlink", netns, Errno.EINVAL, "not a network namespace");
            }
            String master = links.values().stream().filter(l -> l.index() == masterIndex).map(Link::name)
                    .findFirst().orElse(null);
            links.put(hostName, new Link(hostName, nextIndex++, master, netns.toAbsolutePath().normalize(),
                    peerName));
        }
    }

    @Override
    public boolean delete(String name) {
        synchronized (host) {
            host.record("links.delete", name);
            return links.remove(name) != null;
        }
    }

    @Override
    public boolean detach(String name) {
        synchronized (host) {
            host.record("links.detach", name);
            Link l = links.get(name);
            if (l == null) {
                return false;
            }
            links.put(name, new Link(l.name(), l.index(), null, l.peerNetns(), l.peerName()));
            return true;
        }
    }

    @Override
    public void setHairpin(String port) {
        synchronized (host) {
            host.record("links.setHairpin", port);
            if (!links.containsKey(port)) {
                throw FakeLinuxHost.error("write", port, Errno.ENOENT, "No such device");
            }
        }
    }

    @Override
    public void configureInside(Path netns, String ifName, List<Address> addresses, List<InetAddress> gateways) {
        synchronized (host) {
            host.record("links.configureInside", netns, ifName, List.copyOf(addresses), List.copyOf(gateways));
            if (!inside(netns).contains(ifName)) {
                throw FakeLinuxHost.error("netlink", ifName, Errno.ENOENT, "No such device");
            }
        }
    }

    /** Links of the daemon's namespace now. */
    public Set<String> names() {
        synchronized (host) {
            return Set.copyOf(links.keySet());
        }
    }

    /** Interfaces inside the pod netns pinned at {@code netns}: lo and the peers moved there. */
    List<String> inside(Path netns) {
        List<String> out = new ArrayList<>(List.of("lo"));
        Path n = netns.toAbsolutePath().normalize();
        for (Link l : links.values()) {
            if (n.equals(l.peerNetns())) {
                out.add(l.peerName());
            }
        }
        return out;
    }
}
