package dev.berth.linux.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.linux.LinuxException;
import dev.berth.linux.Mounts;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * rtnetlink against the real kernel: a veth pair whose peer lands in a fresh, pinned network
 * namespace, addresses and a default route set from a thread inside it. Needs root and ip(8).
 */
class NetlinkTest {
    @TempDir
    Path dir;

    Path netns;
    String host;

    @BeforeEach
    void pinNamespace() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")) && Files.isExecutable(Path.of("/usr/sbin/ip")),
                "needs root and iproute2");
        netns = dir.resolve("net");
        Files.createFile(netns);
        NamespaceThread.run("test-pin", () -> {
            Namespaces.unshare(Namespaces.CLONE_NEWNET);
            Mounts.bind(Path.of("/proc/thread-self/ns/net"), netns);
        });
        host = "nlt" + ProcessHandle.current().pid() % 100000;
    }

    @AfterEach
    void cleanUp() {
        if (host != null) {
            NetCommand.run(List.of("ip", "link", "del", host));
        }
        if (netns != null) {
            Mounts.ensureUnmounted(netns);
        }
    }

    @Test
    void vethIntoANamespaceWithAddressesAndRoute() {
        byte[] mac = {0x0a, 0x58, 10, 99, 0, 2};
        try (Netlink nl = Netlink.open()) {
            nl.addVethIntoNamespace(host, 0, 0, "eth0", mac, netns);
            // the same name again: EEXIST, reported with the call and subject
            LinuxException e = assertThrows(LinuxException.class,
                    () -> nl.addVethIntoNamespace(host, 0, 0, "eth0", mac, netns));
            assertTrue(e.getMessage().contains(host), e.getMessage());
        }
        assertTrue(Files.exists(Path.of("/sys/class/net", host)));
        NamespaceThread.run("test-pod", () -> {
            Namespaces.join(netns, Namespaces.CLONE_NEWNET);
            try (Netlink nl = Netlink.open()) {
                nl.setUp(1, "lo");
                int index = Netlink.indexOf("eth0");
                assertTrue(index > 0);
                nl.setUp(index, "eth0");
                nl.addAddress(index, InetAddress.getByName("10.99.0.2"), 24);
                nl.addAddress(index, InetAddress.getByName("fd99::2"), 64);
                nl.addDefaultRoute(index, InetAddress.getByName("10.99.0.1"));
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        });
        String addrs = NetCommand.check(List.of("nsenter", "--net=" + netns, "ip", "addr", "show", "dev", "eth0"), null)
                .stdout();
        assertTrue(addrs.contains("inet 10.99.0.2/24"), addrs);
        assertTrue(addrs.contains("inet6 fd99::2/64"), addrs);
        assertTrue(addrs.contains("0a:58:0a:63:00:02"), addrs);
        assertTrue(addrs.contains("UP"), addrs);
        String routes = NetCommand.check(List.of("nsenter", "--net=" + netns, "ip", "route"), null).stdout();
        assertTrue(routes.contains("default via 10.99.0.1 dev eth0"), routes);
        assertTrue(NetCommand.check(List.of("nsenter", "--net=" + netns, "ip", "link", "show", "lo"), null).stdout()
                .contains("UP"));

        try (Netlink nl = Netlink.open()) {
            assertTrue(nl.deleteLink(host));
            assertFalse(nl.deleteLink(host)); // gone: not an error
        }
        assertFalse(Files.exists(Path.of("/sys/class/net", host)));
        assertEquals(0, Netlink.indexOf(host));
    }

    @Test
    void detachTakesAVethDownAndOffItsBridge() throws Exception {
        String bridge = host + "b";
        NetCommand.check(List.of("ip", "link", "add", bridge, "type", "bridge"), null);
        try {
            try (Netlink nl = Netlink.open()) {
                nl.addVethIntoNamespace(host, 0, Netlink.indexOf(bridge), "eth0", null, netns);
            }
            Path master = Path.of("/sys/class/net", host, "master");
            assertTrue(Files.isSymbolicLink(master), "enslaved to the bridge at creation");
            assertTrue((flags(host) & Netlink.IFF_UP) != 0, "up at creation");

            try (Netlink nl = Netlink.open()) {
                assertTrue(nl.detachLink(host));
                assertFalse(Files.exists(master, java.nio.file.LinkOption.NOFOLLOW_LINKS), "still on the bridge");
                assertEquals(0, flags(host) & Netlink.IFF_UP, "still up");
                assertTrue(nl.detachLink(host), "detaching a detached device is no error");
                assertTrue(nl.deleteLink(host));
                assertFalse(nl.detachLink(host)); // gone: not an error
            }
        } finally {
            NetCommand.run(List.of("ip", "link", "del", bridge));
        }
    }

    private static int flags(String dev) throws java.io.IOException {
        return Integer.decode(Files.readString(Path.of("/sys/class/net", dev, "flags")).strip());
    }
}
