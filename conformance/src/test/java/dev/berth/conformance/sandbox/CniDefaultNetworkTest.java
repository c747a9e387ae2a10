package dev.berth.conformance.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StatusRequest;
import runtime.v1.StatusResponse;
import runtime.v1.StopPodSandboxRequest;

/**
 * Issue 13, point 6: on a node whose CNI config dir is empty at start, pods get berth's built-in
 * network; once the cluster's add-on drops its conflist in (here Debian's bridge plugin), new pods
 * get that network while the running pod keeps its own; both work, berth's firewall leaves the
 * other network's forwarded traffic alone, and berth never writes into the dir.
 */
class CniDefaultNetworkTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path CNI_BIN = Path.of("/usr/lib/cni");

    @Test
    void builtinNetworkUntilTheClusterConfigAppearsThenTheClusterNetworkAndTheDirStaysUntouched()
            throws Exception {
        assumeTrue(PodCensus.privileged(), "needs root, iproute2, iptables, nsenter and busybox-static");
        for (String p : List.of("bridge", "host-local", "loopback")) {
            assumeTrue(Files.isExecutable(CNI_BIN.resolve(p)), "needs containernetworking-plugins: " + p);
        }
        long pid = ProcessHandle.current().pid();
        int n = (int) (pid % 200) + 20;
        Path base = Files.createTempDirectory("berth-cnidefault-");
        Path confDir = base.resolve("net.d");
        Files.createDirectories(confDir);
        String debBridge = "bd" + pid % 100000;
        String debPrefix = "10.73." + n;
        String fwdHost = "tf" + pid % 100000;
        String fwdNs = "berth-cnidef-" + pid;
        String fwdPrefix = "10.74." + n;
        String conflist = """
                {"cniVersion": "1.0.0", "name": "cluster-net", "plugins": [
                  {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": false,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s.0/24"}]],
                            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "%s"}},
                  {"type": "loopback"}
                ]}
                """.formatted(debBridge, debPrefix, base.resolve("ipam"));

        String forwardBefore = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
        // Debian's bridge plugin turns forwarding on: nothing of its bridge leaves except towards
        // the test's own namespace (the rules are inserted before berth's, which go first)
        List<String> guards = List.of("-i " + debBridge + " ! -o " + debBridge + " -j DROP",
                "-o " + debBridge + " ! -i " + debBridge + " -j DROP",
                "-i " + debBridge + " -o " + fwdHost + " -j ACCEPT",
                "-i " + fwdHost + " -o " + debBridge + " -j ACCEPT");
        for (String r : guards) {
            Commands.run(split("iptables -w -I FORWARD 1 " + r)).orThrow();
        }
        BerthDaemon daemon = null;
        try {
            // a namespace outside every pod network, reached from pods only by forwarding
            Commands.run("ip", "netns", "add", fwdNs).orThrow();
            Commands.run("ip", "link", "add", fwdHost, "type", "veth", "peer", "name", "eth0", "netns", fwdNs)
                    .orThrow();
            Commands.run("ip", "addr", "add", fwdPrefix + ".1/30", "dev", fwdHost).orThrow();
            Commands.run("ip", "link", "set", fwdHost, "up").orThrow();
            Commands.run("ip", "netns", "exec", fwdNs, "ip", "addr", "add", fwdPrefix + ".2/30", "dev", "eth0")
                    .orThrow();
            Commands.run("ip", "netns", "exec", fwdNs, "ip", "link", "set", "eth0", "up").orThrow();
            Commands.run("ip", "netns", "exec", fwdNs, "ip", "route", "add", debPrefix + ".0/24", "via",
                    fwdPrefix + ".1").orThrow();

            daemon = BerthDaemon.start(Map.of("BERTH_CNI_CONF_DIR", confDir.toString(), "BERTH_CNI_BIN_DIRS",
                    CNI_BIN.toString()));
            BerthDaemon d = daemon;
            var rt = d.client().runtime();
            String builtinBridge = d.env().get("BERTH_CNI_BRIDGE");
            String builtinPrefix = d.env().get("BERTH_CNI_DEFAULT_SUBNET").replaceFirst("\\.0/24$", "");
            String cgroupTop = "berth-cnidef-" + d.httpPort();
            List<String> before = PodCensus.take(d, cgroupTop, builtinPrefix + ".", debPrefix + ".", debBridge);

            // empty dir: the built-in network, ready
            assertTrue(networkReady(rt.status(StatusRequest.newBuilder().setVerbose(true).build())));
            assertTrue(podNetwork(d).contains("built-in"), podNetwork(d));
            String a = rt.runPodSandbox(RunPodSandboxRequest.newBuilder()
                    .setConfig(ExternalCniPluginsTest.pod("def-a", cgroupTop)).build()).getPodSandboxId();
            String ipA = ip(d, a);
            assertTrue(ipA.startsWith(builtinPrefix + "."), ipA);
            assertEquals(List.of(), list(confDir), "berth wrote into the CNI config dir");

            // the cluster's network add-on writes its config: the next pod gets it
            Files.writeString(confDir.resolve("10-cluster.conflist"), conflist);
            StatusResponse st = rt.status(StatusRequest.newBuilder().setVerbose(true).build());
            assertTrue(networkReady(st), st.toString());
            assertTrue(podNetwork(d).startsWith("cluster-net from " + confDir.resolve("10-cluster.conflist")),
                    podNetwork(d));
            String b = rt.runPodSandbox(RunPodSandboxRequest.newBuilder()
                    .setConfig(ExternalCniPluginsTest.pod("def-b", cgroupTop)).build()).getPodSandboxId();
            String ipB = ip(d, b);
            assertTrue(ipB.startsWith(debPrefix + "."), ipB);
            assertEquals(ipA, ip(d, a), "the running pod kept its network");

            // both work: each pod reaches the node through its own network's gateway
            String nsA = netns(d, a);
            String nsB = netns(d, b);
            assertEquals("from a", receiveOnHost(builtinPrefix + ".1", () -> ExternalCniPluginsTest.sendFromPod(d,
                    nsA, builtinPrefix + ".1", port(d, 0), "from a"), port(d, 0)));
            assertEquals("from b", receiveOnHost(debPrefix + ".1", () -> ExternalCniPluginsTest.sendFromPod(d,
                    nsB, debPrefix + ".1", port(d, 1), "from b"), port(d, 1)));
            // the cluster network's pod is forwarded off its bridge: berth's firewall does not drop it
            String forwardedDrops = Commands.run("iptables", "-w", "-S", "BERTH-FWD-" + builtinBridge).output();
            assertTrue(forwardedDrops.contains("DROP"), "berth's built-in bridge has no FORWARD rules: "
                    + forwardedDrops);
            for (String rule : forwardedDrops.split("\n")) {
                assertTrue(!rule.startsWith("-A ") || rule.contains(builtinBridge), rule);
            }
            assertEquals("forwarded b", receiveInNamespace(fwdNs, 7070, () -> ExternalCniPluginsTest.sendFromPod(d,
                    nsB, fwdPrefix + ".2", 7070, "forwarded b")));

            for (String id : List.of(a, b)) {
                rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
            }
            assertEquals(0, rt.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount());
            // pod a was torn down on the built-in network it was set up on, although the dir changed
            // (the reference plugin's bridge stays, as berth's does; the census leaves berth's out)
            java.util.function.Predicate<String> podLeftovers = l -> !l.equals("link " + debBridge);
            List<String> expected = new java.util.ArrayList<>(before);
            expected.add("link " + debBridge);
            assertEquals(before.stream().filter(podLeftovers).toList(), PodCensus.takeSettled(expected, d, cgroupTop,
                    builtinPrefix + ".", debPrefix + ".", debBridge).stream().filter(podLeftovers).toList());
            assertEquals(List.of("10-cluster.conflist"), list(confDir), "berth wrote into the CNI config dir");
            assertEquals(conflist, Files.readString(confDir.resolve("10-cluster.conflist")));
            assertFalse(d.logText().contains("wrote the default CNI"), "the daemon says it wrote a config");
        } finally {
            if (daemon != null) {
                daemon.close();
            }
            Commands.run("ip", "link", "del", debBridge);
            Commands.run("ip", "link", "del", fwdHost);
            Commands.run("ip", "netns", "del", fwdNs);
            for (String r : guards) {
                Commands.run(split("iptables -w -D FORWARD " + r));
            }
            Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), forwardBefore);
            Commands.run("rm", "-rf", base.toString());
        }
    }

    private static boolean networkReady(StatusResponse st) {
        return st.getStatus().getConditionsList().stream()
                .anyMatch(c -> c.getType().equals("NetworkReady") && c.getStatus());
    }

    private static String podNetwork(BerthDaemon d) throws IOException {
        StatusResponse st = d.client().runtime().status(StatusRequest.newBuilder().setVerbose(true).build());
        return JSON.readTree(st.getInfoMap().get("runtime")).path("podNetwork").asText();
    }

    private static String ip(BerthDaemon d, String id) {
        return d.client().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(id).build())
                .getStatus().getNetwork().getIp();
    }

    private static String netns(BerthDaemon d, String id) throws IOException {
        JsonNode info = JSON.readTree(d.client().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(id).setVerbose(true).build()).getInfoMap().get("info"));
        return info.path("namespaces").path("network").asText();
    }

    private static int port(BerthDaemon d, int i) {
        return 32000 + d.httpPort() % 10000 * 2 + i;
    }

    /** A one-shot TCP listener on the node at addr; returns the line a pod sent to it. */
    private static String receiveOnHost(String addr, java.util.function.BooleanSupplier send, int port)
            throws Exception {
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName(addr), port));
            server.setSoTimeout(10_000);
            Thread sender = Thread.ofVirtual().start(send::getAsBoolean);
            try (Socket s = server.accept()) {
                s.setSoTimeout(5_000);
                return new String(s.getInputStream().readAllBytes()).strip();
            } finally {
                sender.join(10_000);
            }
        }
    }

    /** A one-shot TCP listener in the test's namespace; returns what arrived. */
    private static String receiveInNamespace(String ns, int port, java.util.function.BooleanSupplier send)
            throws Exception {
        Process server = new ProcessBuilder("ip", "netns", "exec", ns, PodCensus.busybox(), "nc", "-l", "-p",
                Integer.toString(port)).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            boolean sent = false;
            for (int i = 0; i < 50 && !sent; i++) {
                sent = send.getAsBoolean();
                if (!sent) {
                    Thread.sleep(50);
                }
            }
            assertTrue(sent, "could not connect to " + ns + ":" + port);
            assertTrue(server.waitFor(5, TimeUnit.SECONDS));
            return new String(server.getInputStream().readAllBytes()).strip();
        } finally {
            server.destroyForcibly();
        }
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static List<String> split(String s) {
        return new ArrayList<>(List.of(s.split(" ")));
    }
}
