package dev.berth.cni.ipam;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.core.error.BerthException;
import java.math.BigInteger;
import java.net.InetAddress;

/**
 * One host-local range: a subnet, the first and last address handed out, and the gateway (which
 * is never handed out). Defaults follow host-local: start after the network address, end before
 * the IPv4 broadcast address, gateway = first address.
 */
public record IpRange(Cidr subnet, InetAddress start, InetAddress end, InetAddress gateway) {

    public static IpRange fromJson(JsonNode n) {
        String s = n.path("subnet").asText(null);
        if (s == null) {
            throw BerthException.invalid("IPAM range needs a \"subnet\"");
        }
        Cidr subnet = Cidr.parse(s);
        BigInteger size = subnet.size();
        if (size.compareTo(BigInteger.valueOf(4)) < 0) {
            throw BerthException.invalid("IPAM subnet %s is too small for a gateway and pods", subnet);
        }
        InetAddress first = subnet.at(BigInteger.ONE);
        InetAddress last = subnet.isIpv4() ? subnet.at(size.subtract(BigInteger.TWO)) : subnet.last();
        InetAddress start = n.hasNonNull("rangeStart") ? Cidr.parseAddress(n.get("rangeStart").asText()) : first;
        InetAddress end = n.hasNonNull("rangeEnd") ? Cidr.parseAddress(n.get("rangeEnd").asText()) : last;
        InetAddress gw = n.hasNonNull("gateway") ? Cidr.parseAddress(n.get("gateway").asText()) : first;
        for (InetAddress a : new InetAddress[] {start, end, gw}) {
            if (!subnet.contains(a)) {
                throw BerthException.invalid("IPAM range: %s is outside subnet %s", a.getHostAddress(), subnet);
            }
        }
        if (subnet.offsetOf(start).compareTo(subnet.offsetOf(end)) > 0) {
            throw BerthException.invalid("IPAM range: rangeStart %s is after rangeEnd %s", start.getHostAddress(),
                    end.getHostAddress());
        }
        return new IpRange(subnet, start, end, gw);
    }

    public boolean contains(InetAddress a) {
        if (!subnet.contains(a)) {
            return false;
        }
        BigInteger o = subnet.offsetOf(a);
        return o.compareTo(subnet.offsetOf(start)) >= 0 && o.compareTo(subnet.offsetOf(end)) <= 0;
    }
}
