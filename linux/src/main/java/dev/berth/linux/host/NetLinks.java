package dev.berth.linux.host;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;

/** Network devices through rtnetlink and /sys/class/net. */
public interface NetLinks {
    /** An address to give an interface. */
    record Address(InetAddress address, int prefix) {}

    /** Whether the device exists in the daemon's network namespace. */
    boolean exists(String name);

    /** Ports enslaved to a bridge. */
    List<String> bridgePorts(String bridge);

    /** The MAC address of a device ("aa:bb:..."), empty when it has none or is gone. */
    String macOf(String name);

    /** ifindex of a device in the daemon's network namespace; 0 when there is none. */
    int indexOf(String name);

    /** A veth pair: {@code hostName} on the bridge {@code masterIndex}, its peer moved into {@code netns}. */
    void addVethIntoNamespace(String hostName, int mtu, int masterIndex, String peerName, byte[] peerMac, Path netns);

    /** Deletes a device; false when it was not there. */
    boolean delete(String name);

    /**
     * Sets a device down and takes it off its bridge, which the kernel does at once (deleting a veth
     * waits for the network stack's RCU readers); false when it was not there.
     */
    boolean detach(String name);

    /** hairpin_mode of a bridge port. */
    void setHairpin(String port);

    /** Inside {@code netns}: lo and {@code ifName} up, the addresses on it, a default route per gateway. */
    void configureInside(Path netns, String ifName, List<Address> addresses, List<InetAddress> gateways);
}
