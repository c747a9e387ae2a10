package dev.berth.runtime.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.cni.CniNetworks;
import dev.berth.cni.CniSettings;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.linux.host.LinuxHost;
import dev.berth.runtime.container.PodContainers;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import runtime.v1.DNSConfig;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxFilter;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStateValue;
import runtime.v1.PodSandboxStatusResponse;

/**
 * Pod sandboxes on the real kernel: pinned namespaces, the built-in bridge (own bridge name and
 * subnet per run), hostPorts, files, restart recovery and a census of the host before and after.
 * Needs root, iproute2, iptables, nsenter and busybox; skipped otherwise.
 */
class SandboxManagerTest {
    private static final String BUSYBOX = Files.isExecutable(Path.of("/bin/busybox")) ? "/bin/busybox"
            : "/usr/bin/busybox";

    private Path tmp;
    private Path runDir;
    private Path stateDir;
    private Path cgroupDir;
    private String bridge;
    private String subnetPrefix;
    private StateStore store;
    private SandboxManager manager;
    private CniNetworks cni;
    private final List<String> containerCalls = new ArrayList<>();
    private List<String> censusBefore;

    @BeforeAll
    static void requirements() {
        assumeTrue(HostCensus.haveTools(), "needs root, ip, iptables, nsenter and busybox");
    }

    @BeforeEach
    void setUp() throws IOException {
        tmp = Files.createTempDirectory("berth-sbx");
        runDir = tmp.resolve("run");
        stateDir = tmp.resolve("state");
        cgroupDir = tmp.resolve("cgroup");
        Files.createDirectories(cgroupDir);
        Files.writeString(cgroupDir.resolve("cgroup.controllers"), "");
        int n = (int) (ProcessHandle.current().pid() % 200) + 20;
        bridge = "bst" + n;
        subnetPrefix = "10.67." + n;
        censusBefore = HostCensus.take(runDir, stateDir, cgroupDir, bridge, subnetPrefix + ".");
        store = StateStore.open(stateDir);
        manager = newManager();
    }

    private SandboxManager newManager() {
        cni = new CniNetworks(new CniSettings(tmp.resolve("net.d"), List.of(Path.of("/usr/lib/cni")),
                stateDir.resolve("cni"), subnetPrefix + ".0/24", bridge), LinuxHost.system());
        PodContainers pc = new PodContainers() {
            @Override
            public void stopAll(String sandboxId, long timeoutSeconds) {
                containerCalls.add("stop " + sandboxId);
            }

            @Override
            public void removeAll(String sandboxId) {
                containerCalls.add("remove " + sandboxId);
            }
        };
        SandboxManager m = new SandboxManager(store, new SandboxSettings(runDir, cgroupDir, Set.of("runc", "crun"),
                "runc"), cni, () -> pc, LinuxHost.system());
        m.recover();
        return m;
    }

    @AfterEach
    void tearDown() throws IOException {
        if (manager != null) {
            for (String id : manager.ids()) {
                manager.remove(id);
            }
        }
        if (store != null) {
            store.close();
        }
        // the pods' own state is gone once the stops' veth deletions, which run behind the answers,
        // are done (as at the daemon's shutdown); the network's bridge and base rules stay for the next pod
        cni.awaitTeardowns();
        List<String> afterPods = HostCensus.take(runDir, stateDir, cgroupDir, bridge, subnetPrefix + ".");
        // the test made the bridge its own: remove it, then nothing of the test may be left
        boolean removed = cni.removeIdleBuiltinNetwork();
        List<String> after = HostCensus.take(runDir, stateDir, cgroupDir, bridge, subnetPrefix + ".");
        HostCensus.run("ip", "link", "del", bridge);
        HostCensus.run("rm", "-rf", tmp.toString());
        assertEquals(HostCensus.withoutNetworkBase(censusBefore, bridge),
                HostCensus.withoutNetworkBase(afterPods, bridge), "the pods left something behind");
        assertTrue(removed, "the idle network was not removed");
        assertEquals(censusBefore, after, "removing the idle network left something behind");
    }

    private static PodSandboxConfig.Builder config(String name, int attempt) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("default")
                        .setUid("uid-" + name).setAttempt(attempt))
                .putLabels("app", name)
                .putAnnotations("note", "a-" + name)
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/berth-test-" + name + "/pod"));
    }

    private Path netns(String id) {
        return manager.find(id).orElseThrow().netNamespacePath();
    }

    private static String inNetns(Path netns, String... cmd) {
        List<String> argv = new ArrayList<>(List.of("nsenter", "--net=" + netns));
        argv.addAll(List.of(cmd));
        return HostCensus.run(argv.toArray(String[]::new));
    }

    @Test
    void twoPodsReachEachOtherByIpAndTeardownLeavesNothing() throws Exception {
        String a = manager.run(config("alpha", 0).build(), "");
        String b = manager.run(config("beta", 0).build(), "runc");
        PodSandboxStatusResponse sa = manager.status(a, true);
        PodSandboxStatusResponse sb = manager.status(b, false);
        String ipA = sa.getStatus().getNetwork().getIp();
        String ipB = sb.getStatus().getNetwork().getIp();
        assertTrue(ipA.startsWith(subnetPrefix + "."), ipA);
        assertTrue(ipB.startsWith(subnetPrefix + "."), ipB);
        assertNotEquals(ipA, ipB);
        assertEquals(PodSandboxState.SANDBOX_READY, sa.getStatus().getState());
        assertEquals("runc", sa.getStatus().getRuntimeHandler());
        assertEquals("alpha", sa.getStatus().getLabelsMap().get("app"));
        assertTrue(sa.getInfoMap().get("info").contains("\"cniResult\""), sa.getInfoMap().toString());
        assertTrue(sa.getInfoMap().get("info").contains(netns(a).toString()));

        // a TCP exchange between processes in the two namespaces
        Process server = new ProcessBuilder("nsenter", "--net=" + netns(a), BUSYBOX, "nc", "-l", "-p", "5007")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String got = null;
            for (int i = 0; i < 50 && got == null; i++) {
                Process client = new ProcessBuilder("nsenter", "--net=" + netns(b), BUSYBOX, "nc", "-w", "2", ipA,
                        "5007").redirectErrorStream(true).start();
                try (OutputStream in = client.getOutputStream()) {
                    in.write(("hello from " + ipB + "\n").getBytes());
                } catch (IOException serverNotListeningYet) {
                    // nc already exited: connection refused, retry below
                }
                client.waitFor(5, TimeUnit.SECONDS);
                if (client.exitValue() == 0) {
                    got = "sent";
                } else {
                    Thread.sleep(50);
                }
            }
            assertNotNull(got, "the client in pod beta never connected to " + ipA);
            assertTrue(server.waitFor(5, TimeUnit.SECONDS));
            assertEquals("hello from " + ipB, new String(server.getInputStream().readAllBytes()).strip());
        } finally {
            server.destroyForcibly();
        }

        // CNI CHECK passes for an attached pod
        cni.check(new dev.berth.cni.PodNetworkRequest(a, netns(a), "eth0", "alpha", "default", "uid-alpha", null));

        // loopback is up inside, the default route goes through the bridge gateway
        assertTrue(inNetns(netns(a), "ip", "-o", "link", "show", "lo").contains("UP"));
        assertTrue(inNetns(netns(a), "ip", "route").contains("default via " + subnetPrefix + ".1"));

        manager.stop(a);
        manager.stop(a);
        Path gone = netns(a);
        BerthException detached = assertThrows(BerthException.class, () -> cni.check(
                new dev.berth.cni.PodNetworkRequest(a, gone, "eth0", "alpha", "default", "uid-alpha", null)));
        assertEquals(ErrorKind.NOT_FOUND, detached.kind());
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.status(a, false).getStatus().getState());
        assertTrue(containerCalls.contains("stop " + a));
        manager.remove(a);
        manager.remove(a);
        assertTrue(containerCalls.contains("remove " + a));
        assertThrows(BerthException.class, () -> manager.status(a, false));
        manager.remove(b);
        assertTrue(manager.list(null).isEmpty());
    }

    @Test
    void podFilesHostnameAndDns() throws Exception {
        PodSandboxConfig c = config("files", 1).setHostname("web-1")
                .setDnsConfig(DNSConfig.newBuilder().addServers("10.0.0.10").addSearches("default.svc.cluster.local")
                        .addSearches("svc.cluster.local").addOptions("ndots:5"))
                .build();
        String id = manager.run(c, "");
        SandboxView v = manager.find(id).orElseThrow();
        String resolv = Files.readString(v.resolvConfFile());
        assertTrue(resolv.contains("nameserver 10.0.0.10\n"), resolv);
        assertTrue(resolv.contains("search default.svc.cluster.local svc.cluster.local\n"), resolv);
        assertTrue(resolv.contains("options ndots:5\n"), resolv);
        assertEquals("web-1\n", Files.readString(v.hostnameFile()));
        String ip = manager.status(id, false).getStatus().getNetwork().getIp();
        assertTrue(Files.readString(v.hostsFile()).contains(ip + "\tweb-1"));
        // the UTS namespace carries the hostname
        String hn = HostCensus.run("nsenter", "--uts=" + v.utsNamespacePath(), "hostname").strip();
        assertEquals("web-1", hn);
        assertTrue(Files.isDirectory(cgroupDir.resolve("berth-test-files/pod")));
        assertEquals("/berth-test-files/pod", v.cgroupPath());
        assertTrue(new NamespacePinner(LinuxHost.system()).isPinned(v.ipcNamespacePath()));
        assertTrue(new NamespacePinner(LinuxHost.system()).isPinned(v.shmPath()));
    }

    @Test
    void hostPortReachesThePodFromLoopback() throws Exception {
        int hostPort = 20000 + (int) (ProcessHandle.current().pid() % 20000);
        PodSandboxConfig c = config("web", 0).addPortMappings(runtime.v1.PortMapping.newBuilder()
                .setContainerPort(8080).setHostPort(hostPort)).build();
        String id = manager.run(c, "");
        Process server = new ProcessBuilder("nsenter", "--net=" + netns(id), BUSYBOX, "nc", "-l", "-p", "8080")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            boolean sent = false;
            for (int i = 0; i < 50 && !sent; i++) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", hostPort), 1000);
                    s.getOutputStream().write("via hostport\n".getBytes());
                    sent = true;
                } catch (IOException e) {
                    Thread.sleep(50);
                }
            }
            assertTrue(sent, "127.0.0.1:" + hostPort + " never connected");
            assertTrue(server.waitFor(5, TimeUnit.SECONDS));
            assertEquals("via hostport", new String(server.getInputStream().readAllBytes()).strip());
        } finally {
            server.destroyForcibly();
        }
        assertTrue(HostCensus.run("iptables-save", "-t", "nat").contains("berth:" + id));
        manager.remove(id);
        assertFalse(HostCensus.run("iptables-save", "-t", "nat").contains("berth:" + id));
    }

    @Test
    void hostNetworkAndSharedPidNamespace() throws Exception {
        PodSandboxConfig c = config("hostnet", 0).setLinux(LinuxPodSandboxConfig.newBuilder()
                .setCgroupParent("/berth-test-hostnet")
                .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
                        NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE).setPid(NamespaceMode.POD)
                                .setIpc(NamespaceMode.NODE)))).build();
        String id = manager.run(c, "");
        SandboxView v = manager.find(id).orElseThrow();
        assertNull(v.netNamespacePath());
        assertNull(v.ipcNamespacePath());
        assertEquals(Path.of("/dev/shm"), v.shmPath());
        assertEquals("", manager.status(id, false).getStatus().getNetwork().getIp());
        assertEquals(NamespaceMode.NODE,
                manager.status(id, false).getStatus().getLinux().getNamespaces().getOptions().getNetwork());
        assertNotNull(v.pidNamespacePath());
        String podPidNs = Files.readSymbolicLink(v.pidNamespacePath()).toString();
        assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString(), podPidNs);
        assertTrue(Files.readString(v.hostsFile()).contains("localhost"));
        manager.stop(id);
        assertFalse(Files.exists(v.pidNamespacePath()), "the infra process outlived StopPodSandbox");
    }

    @Test
    void badInputGetsClearErrors() {
        BerthException e = assertThrows(BerthException.class,
                () -> manager.run(PodSandboxConfig.newBuilder().build(), ""));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("metadata"));

        e = assertThrows(BerthException.class, () -> manager.run(config("h", 0).build(), "kata"));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("kata"));

        e = assertThrows(BerthException.class, () -> manager.run(config("s", 0)
                .setLinux(LinuxPodSandboxConfig.newBuilder().putSysctls("vm.swappiness", "10")).build(), ""));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("vm.swappiness"));

        e = assertThrows(BerthException.class, () -> manager.run(config("s2", 0)
                .setLinux(LinuxPodSandboxConfig.newBuilder().putSysctls("net.ipv4.no_such_thing", "1")).build(), ""));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());

        String id = manager.run(config("dup", 0).setLinux(LinuxPodSandboxConfig.newBuilder()
                .putSysctls("net.ipv4.ip_unprivileged_port_start", "80")).build(), "");
        String v = HostCensus.run("nsenter", "--net=" + netns(id), "cat",
                "/proc/sys/net/ipv4/ip_unprivileged_port_start").strip();
        assertEquals("80", v);
        e = assertThrows(BerthException.class, () -> manager.run(config("dup", 0).build(), ""));
        assertEquals(ErrorKind.ALREADY_EXISTS, e.kind());
        assertTrue(e.getMessage().contains(id));
        assertEquals(1, manager.list(null).size());
    }

    @Test
    void runAsGroupWithoutRunAsUserIsRefused() {
        BerthException e = assertThrows(BerthException.class, () -> manager.run(config("grp", 0)
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext
                        .newBuilder().setRunAsGroup(runtime.v1.Int64Value.newBuilder().setValue(1002)))).build(), ""));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("run_as_group"), e.getMessage());
        assertTrue(manager.list(null).isEmpty(), "nothing is made for a refused pod");
        String id = manager.run(config("grp", 0).setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(
                LinuxSandboxSecurityContext.newBuilder().setRunAsUser(runtime.v1.Int64Value.newBuilder().setValue(0))
                        .setRunAsGroup(runtime.v1.Int64Value.newBuilder().setValue(1002)))).build(), "");
        manager.remove(id);
    }

    @Test
    void listFilters() {
        String a = manager.run(config("la", 0).build(), "");
        String b = manager.run(config("lb", 0).build(), "");
        manager.stop(b);
        assertEquals(List.of(a), manager.list(PodSandboxFilter.newBuilder().setId(a).build()).stream()
                .map(p -> p.getId()).toList());
        assertEquals(List.of(a), manager.list(PodSandboxFilter.newBuilder().setId(a.substring(0, 12)).build())
                .stream().map(p -> p.getId()).toList());
        assertEquals(List.of(b), manager.list(PodSandboxFilter.newBuilder().setState(
                PodSandboxStateValue.newBuilder().setState(PodSandboxState.SANDBOX_NOTREADY)).build())
                .stream().map(p -> p.getId()).toList());
        assertEquals(List.of(b), manager.list(PodSandboxFilter.newBuilder().putLabelSelector("app", "lb").build())
                .stream().map(p -> p.getId()).toList());
        assertTrue(manager.list(PodSandboxFilter.newBuilder().putLabelSelector("app", "none").build()).isEmpty());
        assertEquals(2, manager.list(PodSandboxFilter.getDefaultInstance()).size());
    }

    @Test
    void restartFindsPodsAndUndoesHalfCreatedOnes() {
        String ready = manager.run(config("keep", 0).build(), "");
        String half = manager.run(config("half", 0).build(), "");
        manager.flush();
        // as if the daemon died in the middle of RunPodSandbox for "half"
        SandboxRecord r = store.get(SandboxRecord.KIND, half, SandboxRecord.class).orElseThrow();
        store.put(SandboxRecord.KIND, half, r.withState(SandboxRecord.CREATING));
        Path halfNetns = Path.of(r.netns());

        manager = newManager();
        assertEquals(PodSandboxState.SANDBOX_READY, manager.status(ready, false).getStatus().getState());
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.status(half, false).getStatus().getState());
        assertFalse(new NamespacePinner(LinuxHost.system()).isPinned(halfNetns), "recovery left the half-made pod's netns");
        manager.remove(half);
        manager.remove(ready);
    }

    @Test
    void finishedPodWhoseCommitWasLostIsReadyAfterRestart() throws Exception {
        String id = manager.run(config("uncommitted", 0).build(), "");
        manager.flush();
        store.delete(SandboxRecord.KIND, id); // as if killed right after RunPodSandbox answered
        manager = newManager();
        assertEquals(PodSandboxState.SANDBOX_READY, manager.status(id, false).getStatus().getState());
        assertTrue(store.get(SandboxRecord.KIND, id, SandboxRecord.class).isPresent());
        manager.remove(id);
    }

    @Test
    void stopWhoseDeferredCommitWasLostIsNotReadyAfterRestart() throws Exception {
        String id = manager.run(config("stopped-uncommitted", 0).build(), "");
        manager.flush();
        SandboxRecord ready = store.get(SandboxRecord.KIND, id, SandboxRecord.class).orElseThrow();
        manager.stop(id);
        manager.flush();
        assertEquals(SandboxRecord.NOTREADY,
                store.get(SandboxRecord.KIND, id, SandboxRecord.class).orElseThrow().state());
        // as if killed after StopPodSandbox answered but before its StateStore commit
        store.put(SandboxRecord.KIND, id, ready);
        manager = newManager();
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.status(id, false).getStatus().getState());
        SandboxRecord after = store.get(SandboxRecord.KIND, id, SandboxRecord.class).orElseThrow();
        assertEquals(SandboxRecord.NOTREADY, after.state());
        assertFalse(after.networkAttached(), "the recovered record still claims the network");
        manager.remove(id);
    }

    @Test
    void removedPodWhoseDeferredDeleteWasLostComesBackNotReadyAndGoesAgain() throws Exception {
        String id = manager.run(config("removed-uncommitted", 0).build(), "");
        manager.flush();
        SandboxRecord ready = store.get(SandboxRecord.KIND, id, SandboxRecord.class).orElseThrow();
        manager.remove(id);
        assertTrue(manager.find(id).isEmpty(), "a removed pod is gone from memory at once");
        manager.flush();
        assertTrue(store.get(SandboxRecord.KIND, id, SandboxRecord.class).isEmpty());
        // as if killed after RemovePodSandbox answered but before the row's delete
        store.put(SandboxRecord.KIND, id, ready);
        manager = newManager();
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.status(id, false).getStatus().getState());
        manager.remove(id);
        manager.flush();
        assertTrue(store.get(SandboxRecord.KIND, id, SandboxRecord.class).isEmpty());
    }

    @Test
    void crashBeforeTheFirstDurableWriteIsFoundFromThePendingFile() throws Exception {
        String id = manager.run(config("pending", 0).build(), "");
        manager.flush();
        SandboxRecord r = store.get(SandboxRecord.KIND, id, SandboxRecord.class).orElseThrow();
        // as if the daemon died during RunPodSandbox: the store has nothing, the run dir has the pending file
        store.delete(SandboxRecord.KIND, id);
        Files.writeString(Path.of(r.podDir()).resolve("pending.json"),
                new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(r.withState(SandboxRecord.CREATING)));
        manager = newManager();
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.status(id, false).getStatus().getState());
        assertFalse(new NamespacePinner(LinuxHost.system()).isPinned(Path.of(r.netns())));
        assertTrue(store.get(SandboxRecord.KIND, id, SandboxRecord.class).isPresent());
        manager.remove(id);
    }

    @Test
    void crashBeforeThePendingFileLeavesNoPodDirectoryAfterRestart() throws Exception {
        // as if killed between making the pod's directory and replacing pending.json (found by ./berth soak chaos)
        Path leftover = runDir.resolve("pods").resolve("0".repeat(64));
        Files.createDirectories(leftover);
        Files.writeString(leftover.resolve("pending.json.tmp"), "{\"id\":");
        manager = newManager();
        assertFalse(Files.exists(leftover), "an empty pod directory outlived recovery");
        assertTrue(manager.ids().isEmpty());
    }

    /** Host address of eth0 (the machine's own address), if it has one. */
    private static String hostAddress() {
        String out = HostCensus.run("ip", "-4", "-o", "addr", "show", "scope", "global");
        for (String line : out.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 3 && f[2].equals("inet") && !f[1].startsWith("b")) {
                return f[3].substring(0, f[3].indexOf('/'));
            }
        }
        return null;
    }

    @Test
    void udpHostPortHostAddressHairpinAndMasquerade() throws Exception {
        int tcpPort = 21000 + (int) (ProcessHandle.current().pid() % 20000);
        int udpPort = tcpPort + 1;
        PodSandboxConfig c = config("ports", 0)
                .addPortMappings(runtime.v1.PortMapping.newBuilder().setContainerPort(8080).setHostPort(tcpPort))
                .addPortMappings(runtime.v1.PortMapping.newBuilder().setProtocol(runtime.v1.Protocol.UDP)
                        .setContainerPort(5353).setHostPort(udpPort))
                .build();
        String id = manager.run(c, "");
        Path ns = netns(id);

        // UDP from the host's loopback into the pod: the receiving socket is opened by a thread that
        // joined the pod's netns (busybox nc has no UDP)
        try (java.net.DatagramSocket server = dev.berth.linux.ns.NamespaceThread.call("udp-test", () -> {
                    dev.berth.linux.ns.Namespaces.join(ns, dev.berth.linux.ns.Namespaces.CLONE_NEWNET);
                    return new java.net.DatagramSocket(5353);
                });
                java.net.DatagramSocket sock = new java.net.DatagramSocket()) {
            server.setSoTimeout(100);
            byte[] msg = "udp hello".getBytes();
            String got = "";
            for (int i = 0; i < 50 && got.isEmpty(); i++) {
                sock.send(new java.net.DatagramPacket(msg, msg.length, new InetSocketAddress("127.0.0.1", udpPort)));
                java.net.DatagramPacket in = new java.net.DatagramPacket(new byte[64], 64);
                try {
                    server.receive(in);
                    got = new String(in.getData(), 0, in.getLength());
                } catch (java.net.SocketTimeoutException notYet) {
                    // retry
                }
            }
            assertEquals("udp hello", got, "UDP hostPort did not reach the pod");
        }

        String hostIp = hostAddress();
        assumeTrue(hostIp != null, "the host has no global IPv4 address for the host-address and hairpin checks");
        // TCP from the host to its own address
        assertEquals("host address", tcpExchange(ns, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(hostIp, tcpPort), 1000);
                s.getOutputStream().write("host address\n".getBytes());
                return true;
            } catch (IOException e) {
                return false;
            }
        }));
        // hairpin: the pod reaches itself through the node's hostPort
        assertEquals("hairpin", tcpExchange(ns, () -> {
            try {
                Process client = new ProcessBuilder("nsenter", "--net=" + ns, BUSYBOX, "nc", "-w", "2", hostIp,
                        Integer.toString(tcpPort)).redirectErrorStream(true).start();
                try (OutputStream in = client.getOutputStream()) {
                    in.write("hairpin\n".getBytes());
                } catch (IOException refused) {
                    // retried
                }
                return client.waitFor(5, TimeUnit.SECONDS) && client.exitValue() == 0;
            } catch (IOException | InterruptedException e) {
                return false;
            }
        }));
        String nat = HostCensus.run("iptables-save", "-t", "nat");
        assertTrue(nat.contains("-A BERTH-SNAT-" + bridge + " -s " + subnetPrefix + ".0/24 ! -d " + subnetPrefix
                + ".0/24 -j MASQUERADE"), nat);
        assertTrue(HostCensus.run("iptables-save", "-t", "filter").contains("-A BERTH-FWD-" + bridge + " -i " + bridge
                + " ! -o " + bridge + " -j DROP"));
    }

    private String tcpExchange(Path ns, java.util.function.BooleanSupplier send) throws Exception {
        Process server = new ProcessBuilder("nsenter", "--net=" + ns, BUSYBOX, "nc", "-l", "-p", "8080")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            boolean sent = false;
            for (int i = 0; i < 50 && !sent; i++) {
                sent = send.getAsBoolean();
                if (!sent) {
                    Thread.sleep(50);
                }
            }
            assertTrue(sent, "could not connect");
            assertTrue(server.waitFor(5, TimeUnit.SECONDS));
            return new String(server.getInputStream().readAllBytes()).strip();
        } finally {
            server.destroyForcibly();
        }
    }

    @Test
    void dualStackWhenTheNetworkHasAnIpv6Range() throws Exception {
        // the built-in network's conflist, with an IPv6 range added, as the conf dir's config
        Path conf = tmp.resolve("net.d").resolve("10-berth.conflist");
        Files.createDirectories(conf.getParent());
        String json = com.fasterxml.jackson.databind.json.JsonMapper.builder().build()
                .writerWithDefaultPrettyPrinter().writeValueAsString(cni.loader().builtin().toJson())
                .replaceFirst("\\[ \\[ \\{\\s*\"subnet\" : \"([^\"]+)\"\\s*\\} \\] \\]",
                        "[ [ { \"subnet\" : \"$1\" } ], [ { \"subnet\" : \"fd66:" + Integer.toHexString(
                                (int) (ProcessHandle.current().pid() % 65000)) + "::/64\" } ] ]");
        assertTrue(json.contains("fd66:"), json);
        Files.writeString(conf, json);
        String id = manager.run(config("dual", 0).build(), "");
        var st = manager.status(id, false).getStatus().getNetwork();
        assertTrue(st.getIp().startsWith(subnetPrefix + "."), st.toString());
        assertEquals(1, st.getAdditionalIpsCount());
        String v6 = st.getAdditionalIps(0).getIp();
        assertTrue(v6.startsWith("fd66:"), v6);
        String addrs = inNetns(netns(id), "ip", "-6", "addr", "show", "dev", "eth0");
        assertTrue(addrs.contains("inet6 " + java.net.InetAddress.getByName(v6).getHostAddress().replaceAll(
                "(^|:)0(:0)+(:|$)", "::").replaceFirst(":::", "::")) || addrs.contains("scope global"), addrs);
        assertTrue(inNetns(netns(id), "ip", "-6", "route").contains("default via fd66:"));
        manager.remove(id);
    }

    @Test
    void concurrentPodsGetDistinctAddressesAndAllGoAway() throws Exception {
        int n = 12;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(6);
        List<java.util.concurrent.Future<String>> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            runs.add(pool.submit(() -> manager.run(config("par-" + k, 0).build(), "")));
        }
        List<String> ids = new ArrayList<>();
        for (var f : runs) {
            ids.add(f.get());
        }
        java.util.Set<String> ips = new java.util.HashSet<>();
        for (String id : ids) {
            var st = manager.status(id, false).getStatus();
            assertEquals(PodSandboxState.SANDBOX_READY, st.getState());
            ips.add(st.getNetwork().getIp());
        }
        assertEquals(n, ips.size(), "two pods got the same address: " + ips);
        List<java.util.concurrent.Future<?>> removes = new ArrayList<>();
        for (String id : ids) {
            removes.add(pool.submit(() -> {
                manager.stop(id);
                manager.remove(id);
            }));
        }
        for (var f : removes) {
            f.get();
        }
        pool.shutdown();
        assertTrue(manager.list(null).isEmpty());
    }

    @Test
    void podsWithoutCgroupParentUseBerthsDefaultParentWhichGoesWithTheLastPod() {
        PodSandboxConfig c1 = config("nocg1", 0).setLinux(LinuxPodSandboxConfig.getDefaultInstance()).build();
        PodSandboxConfig c2 = config("nocg2", 0).setLinux(LinuxPodSandboxConfig.getDefaultInstance()).build();
        String a = manager.run(c1, "");
        String b = manager.run(c2, "");
        assertEquals("/berth/pods/pod-" + a, manager.find(a).orElseThrow().cgroupPath());
        assertTrue(Files.isDirectory(cgroupDir.resolve("berth/pods/pod-" + b)));
        manager.remove(a); // created /berth and /berth/pods, but b still uses them
        assertTrue(Files.isDirectory(cgroupDir.resolve("berth/pods")));
        manager.remove(b);
        assertFalse(Files.exists(cgroupDir.resolve("berth")));
    }
}
