package dev.berth.cni.bridge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.cni.PortMapping;
import dev.berth.cni.exec.CniPlugin;
import dev.berth.cni.exec.CniPluginException;
import dev.berth.cni.exec.PluginInvocation;
import dev.berth.cni.firewall.BridgeFirewall;
import dev.berth.cni.ipam.Allocation;
import dev.berth.cni.ipam.Cidr;
import dev.berth.cni.ipam.HostLocalAllocator;
import dev.berth.cni.ipam.IpRange;
import dev.berth.cni.ipam.LeaseStore;
import dev.berth.core.error.BerthException;
import dev.berth.linux.host.HostCommands;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.NetLinks;
import dev.berth.linux.host.ProcFs;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * berth's own bridge plugin ("type": "berth-bridge"), run inside the daemon. It reads the same
 * config keys as the reference bridge plugin (bridge, isGateway, ipMasq, hairpinMode, mtu, ipam of
 * type host-local) and answers with a standard CNI result.
 *
 * <p>ADD: ensure the bridge (gateway addresses, route_localnet and forwarding on the bridge only,
 * firewall chains), lease addresses, create a veth pair with one end moved into the pod netns,
 * configure lo, addresses and default routes inside (two {@code ip -batch} runs: one on the host,
 * one under {@code nsenter --net}), add hostPort DNAT rules. DEL undoes the pod's part only (veth,
 * hostPort rules, lease): the bridge, its addresses and its base firewall chains stay while no pod
 * uses them, as the reference bridge plugin leaves its bridge, so the next pod's ADD costs no process
 * start. {@link #removeIdleNetwork} removes them for an owner that is done with the network (tests).
 *
 * <p>Global {@code net.ipv4.ip_forward} is never touched: forwarding is enabled on the bridge
 * device alone (enough for hairpin between pods) and the FORWARD chain drops everything between
 * the bridge and any other interface, so pod traffic cannot leave the machine.
 */
public final class BuiltinBridgePlugin implements CniPlugin {
    public static final String TYPE = "berth-bridge";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MAC = Pattern.compile("link/ether ([0-9a-f:]{17})");
    private static final boolean USE_IP_TOOL = Boolean.getBoolean("berth.cni.ip");
    private static final Pattern IFNAME = Pattern.compile("[a-zA-Z0-9_.\\-]{1,15}");

    private final Path defaultDataDir;
    private final NetLinks links;
    private final HostCommands commands;
    private final ProcFs procfs;
    private final Map<String, ReentrantLock> bridgeLocks = new ConcurrentHashMap<>();
    private final Set<String> ensured = ConcurrentHashMap.newKeySet();
    /** DEL's detached host veths being deleted after DEL answered, by veth name (see {@link #del}). */
    private final Map<String, CompletableFuture<Void>> deleting = new ConcurrentHashMap<>();
    /**
     * Where they are deleted: one platform thread (a virtual thread would hold its carrier through
     * the netlink call's wait), made on demand and ended after 30 s idle. One is enough: each deletion
     * is mostly the kernel waiting, not work, and nothing waits for the queue but shutdown.
     */
    private final ThreadPoolExecutor deleter = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), Thread.ofPlatform().name("veth-delete").daemon(true).factory());

    public BuiltinBridgePlugin(Path defaultDataDir, LinuxHost host) {
        this.defaultDataDir = defaultDataDir;
        this.links = host.links();
        this.commands = host.commands();
        this.procfs = host.procfs();
        deleter.allowCoreThreadTimeOut(true);
    }

    /** The parts of the plugin config this plugin reads. */
    record BridgeConfig(String network, String cniVersion, String bridge, boolean isGateway, boolean ipMasq,
            boolean hairpin, int mtu, HostLocalAllocator ipam, List<PortMapping> portMappings) {}

    BridgeConfig parse(ObjectNode conf) {
        String bridge = conf.path("bridge").asText("berth0");
        if (!IFNAME.matcher(bridge).matches()) {
            throw BerthException.invalid("berth-bridge: \"bridge\" %s is not a valid device name (1-15 chars)", bridge);
        }
        JsonNode ipam = conf.get("ipam");
        if (ipam == null || !ipam.isObject()) {
            throw BerthException.invalid("berth-bridge: \"ipam\" is missing");
        }
        List<PortMapping> pm = new ArrayList<>();
        for (JsonNode m : conf.path("runtimeConfig").path("portMappings")) {
            pm.add(new PortMapping(m.path("hostPort").asInt(), m.path("containerPort").asInt(),
                    m.path("protocol").asText("tcp"), m.path("hostIP").asText("")));
        }
        String network = conf.path("name").asText("berth");
        return new BridgeConfig(network, conf.path("cniVersion").asText("1.0.0"), bridge,
                conf.path("isGateway").asBoolean(true), conf.path("ipMasq").asBoolean(true),
                conf.path("hairpinMode").asBoolean(true), conf.path("mtu").asInt(0),
                HostLocalAllocator.fromConfig(ipam, network, defaultDataDir), List.copyOf(pm));
    }

    @Override
    public JsonNode invoke(ObjectNode conf, PluginInvocation inv) {
        BridgeConfig c = parse(conf);
        try {
            return switch (inv.command()) {
                case "ADD" -> add(c, inv);
                case "DEL" -> {
                    del(c, inv, true);
                    yield null;
                }
                case "CHECK" -> {
                    check(c, inv);
                    yield null;
                }
                case "STATUS" -> null; // config parsed: the plugin can serve ADDs
                default -> throw new CniPluginException(TYPE, inv.command(), 4, "unknown CNI command", null);
            };
        } catch (CniPluginException e) {
            throw e;
        } catch (BerthException e) {
            throw e.withContext("berth-bridge " + inv.command() + " " + inv.containerId());
        }
    }

    /** Host-side veth name: stable per (container, interface) so DEL finds it without state. */
    public static String hostVethName(String containerId, String ifName) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest((containerId + "/" + ifName).getBytes(StandardCharsets.UTF_8));
            return "bv" + HexFormat.of().formatHex(h).substring(0, 11);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private ObjectNode add(BridgeConfig c, PluginInvocation inv) {
        if (inv.netns() == null || inv.netns().isEmpty()) {
            throw BerthException.invalid("berth-bridge ADD needs CNI_NETNS");
        }
        if (!IFNAME.matcher(inv.ifName()).matches()) {
            throw BerthException.invalid("berth-bridge: interface name %s is not valid", inv.ifName());
        }
        List<Allocation> allocs;
        ReentrantLock lock = lockOf(c.bridge);
        lock.lock();
        try {
            ensureBridge(c);
            allocs = c.ipam.allocate(inv.containerId(), inv.ifName());
        } finally {
            lock.unlock();
        }
        String veth = hostVethName(inv.containerId(), inv.ifName());
        try {
            deleteNow(veth); // left by an ADD that failed or crashed halfway
            String podMac = USE_IP_TOOL ? configureWithIpTool(c, inv, veth, allocs) : configure(c, inv, veth, allocs);

            String podIpv4 = allocs.stream().filter(Allocation::isIpv4).findFirst()
                    .map(a -> a.address().getHostAddress()).orElse(null);
            if (podIpv4 != null && !c.portMappings.isEmpty()) {
                firewall(c).addHostPorts(inv.containerId(), podIpv4, c.portMappings);
            }
            return result(c, inv, veth, podMac, allocs);
        } catch (RuntimeException e) {
            try {
                del(c, inv, false);
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** Netlink path: one socket on the host, one on a thread inside the pod netns; no process forks. */
    private String configure(BridgeConfig c, PluginInvocation inv, String veth, List<Allocation> allocs) {
        byte[] mac = podMac(allocs);
        int master = links.indexOf(c.bridge);
        if (master == 0) {
            throw BerthException.internal("bridge " + c.bridge + " disappeared", null);
        }
        links.addVethIntoNamespace(veth, c.mtu, master, inv.ifName(), mac, Path.of(inv.netns()));
        if (c.hairpin) {
            links.setHairpin(veth);
        }
        List<NetLinks.Address> addresses = new ArrayList<>();
        for (Allocation a : allocs) {
            addresses.add(new NetLinks.Address(a.address(), a.subnet().prefix()));
        }
        List<InetAddress> gateways = new ArrayList<>();
        if (c.isGateway) {
            Set<Boolean> routed = new LinkedHashSet<>();
            for (Allocation a : allocs) {
                if (routed.add(a.isIpv4())) {
                    gateways.add(a.gateway());
                }
            }
        }
        links.configureInside(Path.of(inv.netns()), inv.ifName(), addresses, gateways);
        return HexFormat.ofDelimiter(":").formatHex(mac);
    }

    /** The pod MAC: 0a:58 and the IPv4 address (as Kubernetes network plugins do), else random local. */
    static byte[] podMac(List<Allocation> allocs) {
        byte[] mac = new byte[6];
        Allocation v4 = allocs.stream().filter(Allocation::isIpv4).findFirst().orElse(null);
        if (v4 != null) {
            mac[0] = 0x0a;
            mac[1] = 0x58;
            System.arraycopy(v4.address().getAddress(), 0, mac, 2, 4);
        } else {
            new java.security.SecureRandom().nextBytes(mac);
            mac[0] = (byte) ((mac[0] & 0xfe) | 0x02);
        }
        return mac;
    }

    /** ip(8) path (-Dberth.cni.ip=true): two forks, kept for comparison and as a fallback. */
    private String configureWithIpTool(BridgeConfig c, PluginInvocation inv, String veth, List<Allocation> allocs) {
        String mtu = c.mtu > 0 ? " mtu " + c.mtu : "";
        StringBuilder host = new StringBuilder();
        host.append("link add ").append(veth).append(mtu).append(" type veth peer name ").append(inv.ifName())
                .append(mtu).append(" netns ").append(inv.netns()).append('\n');
        host.append("link set ").append(veth).append(" master ").append(c.bridge).append('\n');
        if (c.hairpin) {
            host.append("link set dev ").append(veth).append(" type bridge_slave hairpin on\n");
        }
        host.append("link set ").append(veth).append(" up\n");
        commands.check(List.of("ip", "-batch", "-"), host.toString());

        StringBuilder pod = new StringBuilder("link set lo up\n");
        for (Allocation a : allocs) {
            pod.append("addr add ").append(a.addressWithPrefix()).append(" dev ").append(inv.ifName())
                    .append(a.isIpv4() ? "" : " nodad").append('\n');
        }
        pod.append("link set ").append(inv.ifName()).append(" up\n");
        if (c.isGateway) {
            Set<Boolean> routed = new LinkedHashSet<>();
            for (Allocation a : allocs) {
                if (routed.add(a.isIpv4())) {
                    pod.append(a.isIpv4() ? "" : "-6 ").append("route add default via ")
                            .append(a.gateway().getHostAddress()).append(" dev ").append(inv.ifName())
                            .append('\n');
                }
            }
        }
        pod.append("link show dev ").append(inv.ifName()).append('\n');
        String out = commands.check(
                List.of("nsenter", "--net=" + inv.netns(), "ip", "-batch", "-"), pod.toString()).stdout();
        Matcher m = MAC.matcher(out);
        String podMac = m.find() ? m.group(1) : "";
        return podMac;
    }

    /**
     * DEL: the pod's hostPort rules, veth and lease. With {@code deferred} the veth is only set down
     * and taken off the bridge before DEL answers, which cuts the pod off at once (so its address can
     * be leased again at once), and it is deleted on a background thread: deleting a veth waits for
     * the network stack's RCU readers, 17-21 ms on a 2-core node and most of a StopPodSandbox. A
     * veth a crash kept from being deleted goes with its pod's network namespace at the pod's removal.
     */
    private void del(BridgeConfig c, PluginInvocation inv, boolean deferred) {
        if (deferred) {
            removeHostPorts(c, inv.containerId());
            deleteLater(hostVethName(inv.containerId(), inv.ifName()));
        } else {
            removeHostSide(c, inv.containerId(), inv.ifName());
        }
        release(c, inv.containerId(), inv.ifName());
    }

    /** Detaches {@code veth} now and deletes it on the deleter thread; nothing when it is not there. */
    private void deleteLater(String veth) {
        awaitDeletion(veth); // a DEL repeated before the last one's deletion finished
        if (!links.detach(veth)) {
            return;
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        deleting.put(veth, done);
        deleter.execute(() -> {
            try {
                links.delete(veth);
                deleting.remove(veth, done);
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e); // kept: awaitDeletion deletes again, and reports
            }
        });
    }

    /** Deletes {@code veth} on this thread, after any deletion still pending for it; repeatable. */
    private void deleteNow(String veth) {
        awaitDeletion(veth);
        if (linkExists(veth)) {
            links.delete(veth);
        }
    }

    /** Waits until DEL's deferred veth deletions are done (before the network itself goes, and at shutdown). */
    public void awaitTeardowns() {
        for (String veth : deleting.keySet()) {
            awaitDeletion(veth);
        }
    }

    /** Waits for a pending deletion of {@code veth}; one that failed is done again here, where its error is thrown. */
    private void awaitDeletion(String veth) {
        CompletableFuture<Void> done = deleting.get(veth);
        if (done == null) {
            return;
        }
        try {
            done.join();
        } catch (CompletionException failed) {
            links.delete(veth);
            deleting.remove(veth, done);
        }
    }

    private void release(BridgeConfig c, String containerId, String ifName) {
        ReentrantLock lock = lockOf(c.bridge);
        lock.lock();
        try {
            c.ipam.release(containerId, ifName);
        } finally {
            lock.unlock();
        }
    }

    /** The attachment's part on the host: its veth and hostPort rules; repeatable. */
    private void removeHostSide(BridgeConfig c, String containerId, String ifName) {
        deleteNow(hostVethName(containerId, ifName));
        removeHostPorts(c, containerId);
    }

    private void removeHostPorts(BridgeConfig c, String containerId) {
        if (!c.portMappings.isEmpty() || !ensured.contains(c.bridge)) {
            // after a restart nothing says whether the pod had hostPorts: look
            firewall(c).removeHostPorts(containerId);
        }
    }

    /**
     * GC (as CNI 1.1 defines it, for this plugin): releases every lease of the network {@code conf}
     * configures whose holder is not one of {@code validContainerIds}, with its host veth and
     * hostPort rules if they are still there; returns what was released. For the daemon's start.
     */
    public List<LeaseStore.Lease> collectGarbage(ObjectNode conf, Set<String> validContainerIds) {
        BridgeConfig c = parse(conf);
        ReentrantLock lock = lockOf(c.bridge);
        lock.lock();
        try {
            List<LeaseStore.Lease> released = c.ipam.store().locked(
                    () -> c.ipam.store().collectGarbage(validContainerIds));
            for (LeaseStore.Lease l : released) {
                if (l.containerId().isEmpty() || l.ifName().isEmpty()) {
                    continue; // a torn lease names no attachment
                }
                removeHostSide(c, l.containerId(), l.ifName());
            }
            return released;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes the bridge of the network {@code conf} configures, its base firewall chains and its
     * empty lease directory, when no pod holds a lease and no device is enslaved to it; repeatable.
     * For whoever created the network and is done with it (a test's own bridge): the daemon itself
     * keeps the bridge while its config names it.
     *
     * @return false when pods still use the network (nothing was removed)
     */
    public boolean removeIdleNetwork(ObjectNode conf) {
        BridgeConfig c = parse(conf);
        awaitTeardowns(); // the stopped pods' veths go first: removing the network leaves none
        ReentrantLock lock = lockOf(c.bridge);
        lock.lock();
        try {
            if (!c.ipam.store().locked(c.ipam.store()::isEmpty)) {
                return false;
            }
            return teardownBridge(c);
        } finally {
            lock.unlock();
        }
    }

    private void check(BridgeConfig c, PluginInvocation inv) {
        String veth = hostVethName(inv.containerId(), inv.ifName());
        if (!linkExists(c.bridge)) {
            throw new CniPluginException(TYPE, "CHECK", 11, "bridge " + c.bridge + " does not exist", null);
        }
        if (!linkExists(veth)) {
            throw new CniPluginException(TYPE, "CHECK", 11, "host veth " + veth + " does not exist", null);
        }
        if (c.ipam.store().locked(() -> c.ipam.store().leasesOf(inv.containerId(), inv.ifName())).isEmpty()) {
            throw new CniPluginException(TYPE, "CHECK", 11, "no address leased to " + inv.containerId(), null);
        }
    }

    private void ensureBridge(BridgeConfig c) {
        if (ensured.contains(c.bridge) && linkExists(c.bridge)) {
            return;
        }
        StringBuilder b = new StringBuilder();
        if (!linkExists(c.bridge)) {
            b.append("link add ").append(c.bridge).append(c.mtu > 0 ? " mtu " + c.mtu : "").append(" type bridge\n");
        }
        if (c.isGateway) {
            Set<String> gws = new LinkedHashSet<>();
            for (List<IpRange> set : c.ipam.rangeSets()) {
                for (IpRange r : set) {
                    gws.add(r.subnet().withPrefix(r.gateway()) + (r.subnet().isIpv4() ? "" : " nodad"));
                }
            }
            for (String gw : gws) {
                b.append("addr replace ").append(gw).append(" dev ").append(c.bridge).append('\n');
            }
        }
        b.append("link set ").append(c.bridge).append(" up\n");
        commands.check(List.of("ip", "-batch", "-"), b.toString());
        // 127.0.0.1-sourced hostPort traffic may be routed out of the bridge; forwarding on the bridge
        // device only lets pods reach each other through hostPorts (hairpin).
        writeSysctl("net/ipv4/conf/" + c.bridge + "/route_localnet", "1");
        if (c.isGateway) {
            writeSysctl("net/ipv4/conf/" + c.bridge + "/forwarding", "1");
        }
        firewall(c).ensureBase(c.ipMasq);
        ensured.add(c.bridge);
    }

    private static final java.util.concurrent.Executor TEARDOWN =
            java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    private boolean teardownBridge(BridgeConfig c) {
        if (linkExists(c.bridge)) {
            // only our veths are enslaved; another user of the device would still have ports
            if (!links.bridgePorts(c.bridge).isEmpty()) {
                return false;
            }
            // the device and the firewall rules are independent: both process starts at once
            java.util.concurrent.CompletableFuture<Void> del = java.util.concurrent.CompletableFuture.runAsync(
                    () -> commands.run(List.of("ip", "link", "del", c.bridge)), TEARDOWN);
            try {
                firewall(c).removeAll();
            } finally {
                del.join();
            }
        } else {
            firewall(c).removeAll();
        }
        c.ipam.store().removeIfEmpty();
        ensured.remove(c.bridge);
        return true;
    }

    /** Whether the device exists in the daemon's network namespace. */
    private boolean linkExists(String name) {
        return links.exists(name);
    }

    private BridgeFirewall firewall(BridgeConfig c) {
        List<Cidr> subnets = new ArrayList<>();
        for (List<IpRange> set : c.ipam.rangeSets()) {
            for (IpRange r : set) {
                subnets.add(r.subnet());
            }
        }
        return new BridgeFirewall(c.bridge, subnets, commands);
    }

    private ReentrantLock lockOf(String bridge) {
        return bridgeLocks.computeIfAbsent(bridge, k -> new ReentrantLock());
    }

    private void writeSysctl(String key, String value) {
        try {
            procfs.writeSysctls(null, null, Map.of(key, value));
        } catch (BerthException e) {
            throw BerthException.internal("cannot set " + key.replace('/', '.') + "=" + value + ": " + e.getMessage(), e);
        }
    }

    private ObjectNode result(BridgeConfig c, PluginInvocation inv, String veth, String podMac, List<Allocation> allocs) {
        ObjectNode r = JSON.createObjectNode();
        r.put("cniVersion", c.cniVersion);
        ArrayNode itfs = r.putArray("interfaces");
        itfs.addObject().put("name", c.bridge).put("mac", readMac(c.bridge));
        itfs.addObject().put("name", veth).put("mac", readMac(veth));
        itfs.addObject().put("name", inv.ifName()).put("mac", podMac).put("sandbox", inv.netns());
        boolean legacy = c.cniVersion.startsWith("0.");
        ArrayNode ips = r.putArray("ips");
        for (Allocation a : allocs) {
            ObjectNode ip = ips.addObject();
            if (legacy) {
                ip.put("version", a.isIpv4() ? "4" : "6");
            }
            ip.put("address", a.addressWithPrefix());
            if (c.isGateway) {
                ip.put("gateway", a.gateway().getHostAddress());
            }
            ip.put("interface", 2);
        }
        ArrayNode routes = r.putArray("routes");
        if (c.isGateway) {
            Set<Boolean> done = new LinkedHashSet<>();
            for (Allocation a : allocs) {
                if (done.add(a.isIpv4())) {
                    routes.addObject().put("dst", a.isIpv4() ? "0.0.0.0/0" : "::/0")
                            .put("gw", a.gateway().getHostAddress());
                }
            }
        }
        r.putObject("dns");
        return r;
    }

    private String readMac(String dev) {
        return links.macOf(dev);
    }

}
