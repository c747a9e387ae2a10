package dev.berth.conformance.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import runtime.v1.DNSConfig;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxFilter;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStateValue;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PodSandboxStatusResponse;
import runtime.v1.PortMapping;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;
import runtime.v1.StatusRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * Pod sandboxes through CRI against the real daemon on its built-in bridge: pod-to-pod TCP,
 * hostPort from 127.0.0.1, DNS and hostname files, host-network pods, bad input, list filters,
 * and a census of the host before and after (nothing may be left behind).
 */
class PodSandboxTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static BerthDaemon daemon;
    static String cgroupTop;
    List<String> before;

    @BeforeAll
    static void start() throws IOException {
        assumeTrue(PodCensus.privileged(), "needs root, iproute2, iptables, nsenter and busybox-static");
        daemon = BerthDaemon.start();
        cgroupTop = "berth-conf-" + daemon.httpPort();
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @BeforeEach
    void census() {
        before = PodCensus.take(daemon, cgroupTop, subnetMarker());
    }

    @AfterEach
    void removeAllAndCompare() {
        RuntimeServiceBlockingStub rt = daemon.client().runtime();
        for (var p : rt.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
            rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
            rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
        }
        assertEquals(before, PodCensus.takeSettled(before, daemon, cgroupTop, subnetMarker()), "pods left something behind");
    }

    static String subnetMarker() {
        String subnet = daemon.env().get("BERTH_CNI_DEFAULT_SUBNET");
        return subnet.substring(0, subnet.lastIndexOf('.'));
    }

    static PodSandboxConfig.Builder pod(String name) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("conf").setUid("u-" + name))
                .putLabels("app", name)
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/" + cgroupTop + "-" + name + "/pod"));
    }

    static String run(PodSandboxConfig.Builder c) {
        return daemon.client().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(c).build())
                .getPodSandboxId();
    }

    static PodSandboxStatusResponse status(String id) {
        return daemon.client().runtime().podSandboxStatus(
                PodSandboxStatusRequest.newBuilder().setPodSandboxId(id).setVerbose(true).build());
    }

    static JsonNode info(String id) throws IOException {
        return JSON.readTree(status(id).getInfoMap().get("info"));
    }

    /** argv run inside the pod's netns, which is pinned inside the daemon's mount namespace. */
    static List<String> inPod(String netns, String... argv) {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + netns));
        cmd.addAll(List.of(argv));
        return daemon.namespace().wrap(cmd);
    }

    @Test
    void networkIsReady() {
        var conds = daemon.client().runtime().status(StatusRequest.getDefaultInstance()).getStatus()
                .getConditionsList();
        assertTrue(conds.stream().anyMatch(c -> c.getType().equals("NetworkReady") && c.getStatus()),
                conds.toString());
    }

    @Test
    void twoPodsTalkOverTcpByIp() throws Exception {
        String a = run(pod("talk-a"));
        String b = run(pod("talk-b"));
        String ipA = status(a).getStatus().getNetwork().getIp();
        String ipB = status(b).getStatus().getNetwork().getIp();
        assertTrue(ipA.startsWith(subnetMarker() + "."), ipA);
        assertNotEquals(ipA, ipB);
        String nsA = info(a).path("namespaces").path("network").asText();
        String nsB = info(b).path("namespaces").path("network").asText();
        assertTrue(info(a).path("cniResult").path("ips").isArray());

        Process server = new ProcessBuilder(inPod(nsA, PodCensus.busybox(), "nc", "-l", "-p", "7070"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            boolean sent = false;
            for (int i = 0; i < 50 && !sent; i++) {
                Process client = new ProcessBuilder(inPod(nsB, PodCensus.busybox(), "nc", "-w", "2", ipA, "7070"))
                        .redirectErrorStream(true).start();
                try (OutputStream in = client.getOutputStream()) {
                    in.write(("ping from " + ipB + "\n").getBytes());
                } catch (IOException serverNotListeningYet) {
                    // nc already exited: connection refused, retry below
                }
                sent = client.waitFor(5, TimeUnit.SECONDS) && client.exitValue() == 0;
                if (!sent) {
                    Thread.sleep(50);
                }
            }
            assertTrue(sent, "pod b could not connect to " + ipA + ":7070");
            assertTrue(server.waitFor(5, TimeUnit.SECONDS));
            assertEquals("ping from " + ipB, new String(server.getInputStream().readAllBytes()).strip());
        } finally {
            server.destroyForcibly();
        }
    }

    @Test
    void hostPortReachesThePodOnLoopback() throws Exception {
        int hostPort = 30000 + daemon.httpPort() % 20000;
        String id = run(pod("hp").addPortMappings(PortMapping.newBuilder().setContainerPort(80).setHostPort(hostPort)));
        String ns = info(id).path("namespaces").path("network").asText();
        Process server = new ProcessBuilder(inPod(ns, PodCensus.busybox(), "nc", "-l", "-p", "80"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            boolean sent = false;
            for (int i = 0; i < 50 && !sent; i++) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", hostPort), 1000);
                    s.getOutputStream().write("through the hostPort\n".getBytes());
                    sent = true;
                } catch (IOException e) {
                    Thread.sleep(50);
                }
            }
            assertTrue(sent, "127.0.0.1:" + hostPort + " did not reach the pod");
            assertTrue(server.waitFor(5, TimeUnit.SECONDS));
            assertEquals("through the hostPort", new String(server.getInputStream().readAllBytes()).strip());
        } finally {
            server.destroyForcibly();
        }
    }

    @Test
    void dnsHostnameAndHostsFiles() throws Exception {
        String id = run(pod("dns").setHostname("dns-host").setDnsConfig(DNSConfig.newBuilder()
                .addServers("10.96.0.10").addServers("10.96.0.11").addSearches("conf.svc.cluster.local")
                .addOptions("ndots:5").addOptions("timeout:2")));
        Path podDir = Path.of(info(id).path("podDir").asText());
        assertEquals("search conf.svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\n"
                + "options ndots:5 timeout:2\n", Files.readString(podDir.resolve("resolv.conf")));
        assertEquals("dns-host\n", Files.readString(podDir.resolve("hostname")));
        String ip = status(id).getStatus().getNetwork().getIp();
        assertTrue(Files.readString(podDir.resolve("hosts")).contains(ip + "\tdns-host\n"));
        String uts = info(id).path("namespaces").path("uts").asText();
        assertEquals("dns-host", daemon.namespace().run("nsenter", "--uts=" + uts, "hostname").output().strip());
    }

    @Test
    void hostNetworkPodUsesTheHostsInterfaces() throws Exception {
        String id = run(pod("hostnet").setLinux(LinuxPodSandboxConfig.newBuilder()
                .setCgroupParent("/" + cgroupTop + "-hostnet")
                .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
                        NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE).setPid(NamespaceMode.POD)))));
        PodSandboxStatusResponse st = status(id);
        assertEquals(PodSandboxState.SANDBOX_READY, st.getStatus().getState());
        assertEquals("", st.getStatus().getNetwork().getIp());
        assertEquals(NamespaceMode.NODE, st.getStatus().getLinux().getNamespaces().getOptions().getNetwork());
        JsonNode info = info(id);
        assertTrue(info.path("namespaces").path("network").isNull());
        // the shared PID namespace's init sees the host's interfaces: it is in the host netns
        int pid = info.path("pid").asInt();
        assertTrue(pid > 0);
        assertEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")),
                Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/net")));
        String links = daemon.namespace().run("nsenter", "--net=/proc/" + pid + "/ns/net", "ip", "-o", "link")
                .output();
        assertEquals(Commands.run("ip", "-o", "link").output().lines().map(l -> l.split(":")[1].strip()).toList(),
                links.lines().map(l -> l.split(":")[1].strip()).toList());
    }

    @Test
    void badInputGetsAClearStatus() {
        RuntimeServiceBlockingStub rt = daemon.client().runtime();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> rt.runPodSandbox(
                RunPodSandboxRequest.newBuilder().setConfig(PodSandboxConfig.newBuilder().setHostname("x")).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("metadata"));

        e = assertThrows(StatusRuntimeException.class, () -> rt.runPodSandbox(RunPodSandboxRequest.newBuilder()
                .setConfig(pod("handler")).setRuntimeHandler("no-such-handler").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("no-such-handler"));

        e = assertThrows(StatusRuntimeException.class, () -> run(pod("sysctl").setLinux(LinuxPodSandboxConfig
                .newBuilder().putSysctls("kernel.panic", "1"))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("kernel.panic"));

        String id = run(pod("dup"));
        e = assertThrows(StatusRuntimeException.class, () -> run(pod("dup")));
        assertEquals(Status.Code.ALREADY_EXISTS, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(id));

        e = assertThrows(StatusRuntimeException.class, () -> status("0123456789abcdef"));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        // stop and remove of an unknown pod succeed (CRI: idempotent)
        rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId("0123456789abcdef").build());
        rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId("0123456789abcdef").build());
    }

    @Test
    void listFiltersAndRepeatedStopRemove() {
        RuntimeServiceBlockingStub rt = daemon.client().runtime();
        String a = run(pod("list-a"));
        String b = run(pod("list-b"));
        rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(b).build());
        rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(b).build());
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, status(b).getStatus().getState());
        assertEquals(List.of(a), ids(PodSandboxFilter.newBuilder().setId(a)));
        assertEquals(List.of(b), ids(PodSandboxFilter.newBuilder()
                .setState(PodSandboxStateValue.newBuilder().setState(PodSandboxState.SANDBOX_NOTREADY))));
        assertEquals(List.of(a), ids(PodSandboxFilter.newBuilder()
                .setState(PodSandboxStateValue.newBuilder().setState(PodSandboxState.SANDBOX_READY))));
        assertEquals(List.of(b), ids(PodSandboxFilter.newBuilder().putLabelSelector("app", "list-b")));
        assertEquals(List.of(), ids(PodSandboxFilter.newBuilder().putLabelSelector("app", "nope")));
        rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(b).build());
        rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(b).build());
        assertEquals(List.of(a), ids(PodSandboxFilter.newBuilder()));
        assertFalse(status(a).getStatus().getCreatedAt() == 0);
    }

    /**
     * StopPodSandbox cuts the pod off and releases its address before it answers (its host veth down
     * and off the bridge, or gone) and leaves the veth's deletion, which is most of a stop's time in
     * the kernel, to finish behind it, while the pod is only stopped; its removal leaves nothing (the
     * census after each test).
     */
    @Test
    void stopCutsThePodOffAtOnceAndItsVethAndLeaseGoSoonAfter() throws Exception {
        String bridge = daemon.env().get("BERTH_CNI_BRIDGE");
        List<String> before = hostVeths(bridge);
        String a = run(pod("stop-net"));
        String ip = status(a).getStatus().getNetwork().getIp();
        List<String> veths = new ArrayList<>(hostVeths(bridge));
        veths.removeAll(before);
        assertEquals(1, veths.size(), "the pod's host veth on " + bridge + ": " + veths);
        Path dev = Path.of("/sys/class/net", veths.get(0));
        assertTrue(leaseFiles(ip).size() == 1, "one lease names " + ip + ": " + leaseFiles(ip));

        daemon.client().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(a).build());
        if (Files.exists(dev)) {
            assertFalse(Files.exists(dev.resolve("master"), java.nio.file.LinkOption.NOFOLLOW_LINKS),
                    "the stopped pod's veth is still on the bridge");
            int flags = Integer.decode(Files.readString(dev.resolve("flags")).strip());
            assertEquals(0, flags & 1, "the stopped pod's veth is still up");
        }
        assertEquals(List.of(), leaseFiles(ip), "the stopped pod's address was not released");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Files.exists(dev) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertFalse(Files.exists(dev), "the stopped pod's veth was not deleted");
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, status(a).getStatus().getState());
    }

    /** berth's host veths ("bv...") enslaved to {@code bridge}. */
    static List<String> hostVeths(String bridge) throws IOException {
        try (var s = Files.list(Path.of("/sys/class/net"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("bv"))
                    .filter(n -> PodCensus.enslavedTo(n, List.of(bridge))).sorted().toList();
        }
    }

    /** host-local lease files named {@code ip} in the daemon's CNI state. */
    static List<Path> leaseFiles(String ip) throws IOException {
        try (var w = Files.walk(daemon.root().resolve("cni"))) {
            return w.filter(p -> p.getFileName().toString().equals(ip)).toList();
        }
    }

    static List<String> ids(PodSandboxFilter.Builder f) {
        return daemon.client().runtime().listPodSandbox(ListPodSandboxRequest.newBuilder().setFilter(f).build())
                .getItemsList().stream().map(p -> p.getId()).toList();
    }
}
