package dev.berth.cni.ipam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostLocalAllocatorTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    HostLocalAllocator allocator(String ipamJson) throws Exception {
        return HostLocalAllocator.fromConfig(JSON.readTree(ipamJson), "net1", dir);
    }

    @Test
    void allocatesInOrderSkippingGatewayAndReusesForTheSameHolder() throws Exception {
        HostLocalAllocator a = allocator("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.0.0/24\"}]]}");
        Allocation first = a.allocate("c1", "eth0").get(0);
        assertEquals("10.9.0.2", first.address().getHostAddress());
        assertEquals("10.9.0.1", first.gateway().getHostAddress());
        assertEquals("10.9.0.2/24", first.addressWithPrefix());
        assertEquals("10.9.0.3", a.allocate("c2", "eth0").get(0).address().getHostAddress());
        // ADD retried for the same container and interface: same address
        assertEquals("10.9.0.2", a.allocate("c1", "eth0").get(0).address().getHostAddress());
        assertEquals(2, a.store().leases().size());
        assertTrue(Files.exists(dir.resolve("net1").resolve("10.9.0.2")));
    }

    @Test
    void leasesSurviveANewAllocatorOnTheSameDirAndReleaseIsRepeatable() throws Exception {
        String conf = "{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.1.0/28\"}]]}";
        HostLocalAllocator a = allocator(conf);
        String ip1 = a.allocate("c1", "eth0").get(0).address().getHostAddress();
        LeaseStore.dropIndexes(); // as after a daemon restart: only the files remain
        HostLocalAllocator restarted = allocator(conf);
        String ip2 = restarted.allocate("c2", "eth0").get(0).address().getHostAddress();
        assertNotEquals(ip1, ip2);
        assertEquals(ip1, restarted.allocate("c1", "eth0").get(0).address().getHostAddress());
        assertEquals(1, restarted.release("c1", "eth0").size());
        assertEquals(0, restarted.release("c1", "eth0").size());
        assertFalse(restarted.store().isTaken(Cidr.parseAddress(ip1)));
        // round robin: the released address is not handed out next
        assertNotEquals(ip1, restarted.allocate("c3", "eth0").get(0).address().getHostAddress());
    }

    @Test
    void concurrentAllocationsNeverCollide() throws Exception {
        HostLocalAllocator a = allocator("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.2.0/24\"}]]}");
        HostLocalAllocator b = allocator("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.2.0/24\"}]]}");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        ConcurrentLinkedQueue<String> got = new ConcurrentLinkedQueue<>();
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            int n = i;
            fs.add(pool.submit(() -> got.add((n % 2 == 0 ? a : b).allocate("c" + n, "eth0").get(0).address()
                    .getHostAddress())));
        }
        for (Future<?> f : fs) {
            f.get();
        }
        pool.shutdown();
        Set<String> unique = new HashSet<>(got);
        assertEquals(100, unique.size());
        assertEquals(100, a.store().leases().size());
    }

    @Test
    void exhaustionIsResourceExhaustedAndRangeBoundsHold() throws Exception {
        HostLocalAllocator a = allocator("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.3.0/24\","
                + "\"rangeStart\":\"10.9.3.10\",\"rangeEnd\":\"10.9.3.12\"}]]}");
        Set<String> ips = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            ips.add(a.allocate("c" + i, "eth0").get(0).address().getHostAddress());
        }
        assertEquals(Set.of("10.9.3.10", "10.9.3.11", "10.9.3.12"), ips);
        BerthException e = assertThrows(BerthException.class, () -> a.allocate("c9", "eth0"));
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind());
    }

    @Test
    void dualStackGivesOneAddressPerRangeSet() throws Exception {
        HostLocalAllocator a = allocator("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.4.0/24\"}],"
                + "[{\"subnet\":\"fd00:9:4::/64\"}]]}");
        List<Allocation> got = a.allocate("c1", "eth0");
        assertEquals(2, got.size());
        assertEquals("10.9.4.2/24", got.get(0).addressWithPrefix());
        assertTrue(got.get(1).addressWithPrefix().startsWith("fd00:9:4:0:0:0:0:2/64"), got.get(1).addressWithPrefix());
        assertFalse(got.get(1).isIpv4());
    }

    @Test
    void badConfigIsInvalidArgument() {
        for (String bad : List.of("{\"type\":\"dhcp\"}", "{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.0.0\"}]]}",
                "{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.0.0/24\",\"rangeStart\":\"10.8.0.1\"}]]}",
                "{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.0.0/31\"}]]}",
                "{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"example.com/24\"}]]}")) {
            BerthException e = assertThrows(BerthException.class, () -> allocator(bad), bad);
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), bad);
        }
    }

    @Test
    void leasesAreWrittenWholeAndGarbageNoPodHoldsIsReleased() throws Exception {
        HostLocalAllocator a = allocator("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.2.0/24\"}]]}");
        String kept = a.allocate("c1", "eth0").get(0).address().getHostAddress();
        String orphan = a.allocate("c2", "eth0").get(0).address().getHostAddress();
        Path net = dir.resolve("net1");
        // no temporary file stays beside a lease, and the lease says who holds it
        try (var files = Files.list(net)) {
            assertEquals(List.of(), files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList());
        }
        assertEquals("c1\neth0", Files.readString(net.resolve(kept)));
        // what an O_EXCL create cut short by kill -9 leaves (an older berth), and a write cut short now
        Files.writeString(net.resolve("10.9.2.50"), "");
        Files.writeString(net.resolve(".10.9.2.51.tmp"), "c9\neth0");
        LeaseStore.dropIndexes(); // a new daemon
        HostLocalAllocator restarted = allocator("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.9.2.0/24\"}]]}");
        assertTrue(restarted.store().isTaken(Cidr.parseAddress("10.9.2.50")), "a torn lease blocks its address");
        assertEquals(List.of(), restarted.release("", "eth0"), "and no release matches it");

        List<LeaseStore.Lease> released = restarted.store().locked(() -> restarted.store().collectGarbage(Set.of("c1")));
        assertEquals(Set.of(orphan, "10.9.2.50"), Set.copyOf(released.stream().map(l -> l.address().getHostAddress()).toList()));
        assertTrue(restarted.store().isTaken(Cidr.parseAddress(kept)), "the pod's own lease stays");
        assertFalse(restarted.store().isTaken(Cidr.parseAddress(orphan)));
        assertFalse(Files.exists(net.resolve(".10.9.2.51.tmp")));
        // the in-memory index follows: the collected holder has nothing, the kept one its address
        assertEquals(List.of(), restarted.store().locked(() -> restarted.store().leasesOf("c2", "eth0")));
        assertEquals(kept, restarted.allocate("c1", "eth0").get(0).address().getHostAddress());
        assertEquals(List.of(), restarted.store().locked(() -> restarted.store().collectGarbage(Set.of("c1"))));
    }

    @Test
    void cidrMath() {
        Cidr c = Cidr.parse("10.66.7.9/16");
        assertEquals("10.66.0.0/16", c.toString());
        assertTrue(c.contains(Cidr.parseAddress("10.66.255.255")));
        assertFalse(c.contains(Cidr.parseAddress("10.67.0.0")));
        assertFalse(c.contains(Cidr.parseAddress("::1")));
        assertFalse(Cidr.parse("10.66.0.0/16").overlaps(Cidr.parse("10.88.0.0/16")));
        assertTrue(Cidr.parse("10.66.0.0/16").overlaps(Cidr.parse("10.66.3.0/24")));
        assertEquals("10.66.255.255", c.last().getHostAddress());
    }
}
