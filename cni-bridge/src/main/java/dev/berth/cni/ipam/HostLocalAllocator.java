package dev.berth.cni.ipam;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * host-local style allocation: one address from each range set, scanning round-robin from the last
 * reserved address so a released address is not reused at once. Asking again for the same
 * (container, interface) returns the addresses it already holds (ADD is retried by kubelet).
 */
public final class HostLocalAllocator {
    private final LeaseStore store;
    private final List<List<IpRange>> rangeSets;

    public HostLocalAllocator(LeaseStore store, List<List<IpRange>> rangeSets) {
        if (rangeSets.isEmpty()) {
            throw BerthException.invalid("IPAM config has no ranges");
        }
        this.store = store;
        this.rangeSets = rangeSets;
    }

    /**
     * Reads a host-local "ipam" object: "ranges" (list of lists of {subnet, rangeStart, rangeEnd,
     * gateway}) or the older single "subnet"; "dataDir" overrides {@code defaultDataDir}.
     */
    public static HostLocalAllocator fromConfig(JsonNode ipam, String network, Path defaultDataDir) {
        String type = ipam.path("type").asText("");
        if (!type.equals("host-local")) {
            throw BerthException.invalid("the built-in bridge supports IPAM type \"host-local\" only, got \"%s\"", type);
        }
        List<List<IpRange>> sets = new ArrayList<>();
        if (ipam.has("ranges")) {
            for (JsonNode set : ipam.get("ranges")) {
                List<IpRange> ranges = new ArrayList<>();
                for (JsonNode r : set) {
                    ranges.add(IpRange.fromJson(r));
                }
                if (ranges.isEmpty()) {
                    throw BerthException.invalid("IPAM: an empty range set in \"ranges\"");
                }
                sets.add(ranges);
            }
        } else if (ipam.has("subnet")) {
            sets.add(List.of(IpRange.fromJson(ipam)));
        }
        Path dataDir = ipam.hasNonNull("dataDir") ? Path.of(ipam.get("dataDir").asText()) : defaultDataDir;
        return new HostLocalAllocator(new LeaseStore(dataDir, network), sets);
    }

    public LeaseStore store() {
        return store;
    }

    public List<List<IpRange>> rangeSets() {
        return rangeSets;
    }

    /** One address per range set for the holder; RESOURCE_EXHAUSTED when a set is full. */
    public List<Allocation> allocate(String containerId, String ifName) {
        return store.locked(() -> {
            List<LeaseStore.Lease> held = store.leasesOf(containerId, ifName);
            List<Allocation> out = new ArrayList<>();
            for (int i = 0; i < rangeSets.size(); i++) {
                List<IpRange> set = rangeSets.get(i);
                Allocation existing = null;
                for (LeaseStore.Lease l : held) {
                    for (IpRange r : set) {
                        if (r.contains(l.address())) {
                            existing = new Allocation(l.address(), r.subnet(), r.gateway());
                        }
                    }
                }
                out.add(existing != null ? existing : allocateFrom(i, set, containerId, ifName));
            }
            return out;
        });
    }

    private Allocation allocateFrom(int index, List<IpRange> set, String containerId, String ifName) {
        InetAddress last = store.lastReserved(index).orElse(null);
        // Walk all ranges of the set, starting just after the last reserved address.
        int startRange = 0;
        if (last != null) {
            for (int r = 0; r < set.size(); r++) {
                if (set.get(r).contains(last)) {
                    startRange = r;
                }
            }
        }
        for (int k = 0; k <= set.size(); k++) {
            IpRange r = set.get((startRange + k) % set.size());
            Cidr net = r.subnet();
            BigInteger lo = net.offsetOf(r.start());
            BigInteger hi = net.offsetOf(r.end());
            BigInteger count = hi.subtract(lo).add(BigInteger.ONE);
            BigInteger from = lo;
            if (k == 0 && last != null && r.contains(last)) {
                from = net.offsetOf(last).add(BigInteger.ONE);
            }
            // scan [from, hi] then [lo, from)
            for (BigInteger n = BigInteger.ZERO; n.compareTo(count) < 0; n = n.add(BigInteger.ONE)) {
                BigInteger off = from.add(n);
                if (off.compareTo(hi) > 0) {
                    off = lo.add(off.subtract(hi).subtract(BigInteger.ONE));
                }
                InetAddress a = net.at(off);
                if (a.equals(r.gateway())) {
                    continue;
                }
                if (store.reserve(a, containerId, ifName)) {
                    store.setLastReserved(index, a);
                    return new Allocation(a, net, r.gateway());
                }
            }
        }
        throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, "IPAM: no free address left in "
                + set.stream().map(x -> x.subnet().toString()).toList() + " (network dir " + store.dir() + ")");
    }

    /** Releases the holder's addresses; repeatable. */
    public List<LeaseStore.Lease> release(String containerId, String ifName) {
        return store.locked(() -> store.release(containerId, ifName));
    }
}
