package dev.berth.cni.ipam;

import java.net.InetAddress;

/** One leased address with the subnet and gateway of the range it came from. */
public record Allocation(InetAddress address, Cidr subnet, InetAddress gateway) {
    public String addressWithPrefix() {
        return subnet.withPrefix(address);
    }

    public boolean isIpv4() {
        return subnet.isIpv4();
    }
}
