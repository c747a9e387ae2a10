package dev.berth.cni.ipam;

import dev.berth.core.error.BerthException;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 prefix ("10.66.0.0/16"); the address part is stored masked to the network. */
public record Cidr(InetAddress network, int prefix) {

    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw BerthException.invalid("%s is not a CIDR prefix (address/length)", text);
        }
        InetAddress addr = parseAddress(text.substring(0, slash));
        int prefix;
        try {
            prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw BerthException.invalid("%s: prefix length is not a number", text);
        }
        int bits = addr.getAddress().length * 8;
        if (prefix < 0 || prefix > bits) {
            throw BerthException.invalid("%s: prefix length must be 0..%d", text, bits);
        }
        return new Cidr(fromBig(toBig(addr).and(mask(bits, prefix)), addr instanceof Inet4Address), prefix);
    }

    /** Parses a literal IP address without ever doing a name lookup. */
    public static InetAddress parseAddress(String text) {
        String t = text.strip();
        boolean literal = t.contains(":") || t.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        if (!literal) {
            throw BerthException.invalid("%s is not an IP address", text);
        }
        try {
            return InetAddress.getByName(t);
        } catch (UnknownHostException e) {
            throw BerthException.invalid("%s is not an IP address", text);
        }
    }

    public boolean isIpv4() {
        return network instanceof Inet4Address;
    }

    public int bits() {
        return isIpv4() ? 32 : 128;
    }

    public boolean contains(InetAddress a) {
        if ((a instanceof Inet4Address) != isIpv4()) {
            return false;
        }
        return toBig(a).and(mask(bits(), prefix)).equals(toBig(network));
    }

    /** The address at offset n from the network address. */
    public InetAddress at(BigInteger n) {
        return fromBig(toBig(network).add(n), isIpv4());
    }

    public BigInteger offsetOf(InetAddress a) {
        return toBig(a).subtract(toBig(network));
    }

    public BigInteger size() {
        return BigInteger.ONE.shiftLeft(bits() - prefix);
    }

    /** The last address (IPv4 broadcast). */
    public InetAddress last() {
        return at(size().subtract(BigInteger.ONE));
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefix;
    }

    /** "a.b.c.d/len" of an address inside this prefix, as ip(8) and CNI results write it. */
    public String withPrefix(InetAddress a) {
        return a.getHostAddress() + "/" + prefix;
    }

    public boolean overlaps(Cidr o) {
        return contains(o.network) || o.contains(network);
    }

    static BigInteger toBig(InetAddress a) {
        return new BigInteger(1, a.getAddress());
    }

    static InetAddress fromBig(BigInteger v, boolean v4) {
        int len = v4 ? 4 : 16;
        byte[] raw = v.toByteArray();
        byte[] out = new byte[len];
        int copy = Math.min(raw.length, len);
        System.arraycopy(raw, raw.length - copy, out, len - copy, copy);
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static BigInteger mask(int bits, int prefix) {
        BigInteger all = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE);
        BigInteger host = BigInteger.ONE.shiftLeft(bits - prefix).subtract(BigInteger.ONE);
        return all.xor(host);
    }
}
