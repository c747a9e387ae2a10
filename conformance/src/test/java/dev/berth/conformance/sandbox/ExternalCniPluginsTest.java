package dev.berth.conformance.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PortMapping;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StatusRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * Pods on Debian's containernetworking-plugins (bridge + host-local + portmap + loopback) run
 * per the CNI spec by the daemon, on a test-only bridge and subnet. The reference bridge plugin
 * turns on net.ipv4.ip_forward, so the test first drops all forwarding between its bridge and
 * other interfaces and restores ip_forward and the firewall afterwards.
 */
class ExternalCniPluginsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path CNI_BIN = Path.of("/usr/lib/cni");

    @Test
    void podsTalkAndHostPortWorksOnTheReferencePlugins() throws Exception {
        assumeTrue(PodCensus.privileged(), "needs root, iproute2, iptables, nsenter and busybox-static");
        for (String p : List.of("bridge", "host-local", "portmap", "loopback")) {
            assumeTrue(Files.isExecutable(CNI_BIN.resolve(p)), "needs containernetworking-plugins: " + p);
        }
        Path base = Files.createTempDirectory("berth-extcni-");
        int n = (int) (ProcessHandle.current().pid() % 200) + 20;
        String bridge = "bx" + ProcessHandle.current().pid() % 100000;
        String subnetPrefix = "10.71." + n;
        Path confDir = base.resolve("net.d");
        Files.createDirectories(confDir);
        Files.writeString(confDir.resolve("10-deb.conflist"), """
                {"cniVersion": "1.0.0", "name": "deb-test", "plugins": [
                  {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": false, "hairpinMode": true,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s.0/24"}]],
                            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "%s"}},
                  {"type": "portmap", "capabilities": {"portMappings": true}},
                  {"type": "loopback"}
                ]}
                """.formatted(bridge, subnetPrefix, base.resolve("ipam")));

        String forwardBefore = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
        String natBefore = Commands.run("iptables-save", "-t", "nat").output();
        List<String> drops = List.of("-i " + bridge + " ! -o " + bridge + " -j DROP",
                "-o " + bridge + " ! -i " + bridge + " -j DROP");
        for (String r : drops) {
            Commands.run(split("iptables -w -I FORWARD 1 " + r)).orThrow();
        }
        BerthDaemon daemon = null;
        try {
            daemon = BerthDaemon.start(Map.of("BERTH_CNI_CONF_DIR", confDir.toString(), "BERTH_CNI_BIN_DIRS",
                    CNI_BIN.toString()));
            BerthDaemon d = daemon;
            String cgroupTop = "berth-extcni-" + d.httpPort();
            List<String> before = PodCensus.take(d, cgroupTop, subnetPrefix + ".", "deb-test");
            var rt = d.client().runtime();
            assertTrue(rt.status(StatusRequest.getDefaultInstance()).getStatus().getConditionsList().stream()
                    .anyMatch(c -> c.getType().equals("NetworkReady") && c.getStatus()));

            int hostPort = 31000 + d.httpPort() % 20000;
            String a = rt.runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod("ext-a", cgroupTop)
                    .addPortMappings(PortMapping.newBuilder().setContainerPort(8080).setHostPort(hostPort))).build())
                    .getPodSandboxId();
            String b = rt.runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod("ext-b", cgroupTop)).build())
                    .getPodSandboxId();
            var sa = rt.podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(a).setVerbose(true)
                    .build());
            String ipA = sa.getStatus().getNetwork().getIp();
            String ipB = rt.podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(b).build())
                    .getStatus().getNetwork().getIp();
            assertTrue(ipA.startsWith(subnetPrefix + "."), ipA);
            assertTrue(ipB.startsWith(subnetPrefix + "."), ipB);
            assertNotEquals(ipA, ipB);
            JsonNode info = JSON.readTree(sa.getInfoMap().get("info"));
            String nsA = info.path("namespaces").path("network").asText();
            String nsB = JSON.readTree(rt.podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(b)
                    .setVerbose(true).build()).getInfoMap().get("info")).path("namespaces").path("network").asText();
            // the loopback plugin brought lo up
            assertTrue(d.namespace().run("nsenter", "--net=" + nsA, "ip", "-o", "link", "show", "lo").output()
                    .contains("UP"));

            // pod b -> pod a by IP
            assertEquals("hello a", exchange(d, nsA, 9090, () -> sendFromPod(d, nsB, ipA, 9090, "hello a")));
            // host 127.0.0.1:hostPort -> pod a:8080 through portmap
            assertEquals("via portmap", exchange(d, nsA, 8080, () -> sendFromHost(hostPort, "via portmap")));

            for (String id : List.of(a, b)) {
                rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
            }
            assertEquals(0, rt.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount());
            // the reference bridge plugin never deletes its bridge device; the test does, below
            assertEquals(before, PodCensus.take(d, cgroupTop, subnetPrefix + ".", "deb-test").stream()
                    .filter(l -> !l.equals("link " + bridge)).toList());
            try (var leases = Files.list(base.resolve("ipam").resolve("deb-test"))) {
                assertEquals(List.of(), leases.map(p -> p.getFileName().toString())
                        .filter(f -> f.startsWith(subnetPrefix)).toList(), "host-local leases left");
            }
        } finally {
            if (daemon != null) {
                daemon.close();
            }
            Commands.run("ip", "link", "del", bridge);
            for (String r : drops) {
                Commands.run(split("iptables -w -D FORWARD " + r));
            }
            Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), forwardBefore);
            removeNewPortmapChains(natBefore);
            Commands.run("rm", "-rf", base.toString());
        }
    }

    /** portmap's shared chains stay after its last pod; remove them if this test created them. */
    private static void removeNewPortmapChains(String natBefore) {
        String now = Commands.run("iptables-save", "-t", "nat").output();
        List<String> chains = new ArrayList<>();
        for (String line : now.split("\n")) {
            if (line.startsWith(":CNI-") && !natBefore.contains(line.split(" ")[0] + " ")) {
                chains.add(line.substring(1).split(" ")[0]);
            }
        }
        if (chains.isEmpty() || natBefore.contains(":CNI-")) {
            return; // another CNI user (e.g. the reference containerd) shares them
        }
        StringBuilder restore = new StringBuilder("*nat\n");
        for (String line : now.split("\n")) {
            for (String c : chains) {
                if (line.startsWith("-A ") && line.contains("-j " + c) && !line.startsWith("-A " + c + " ")) {
                    restore.append("-D").append(line.substring(2)).append('\n');
                }
            }
        }
        for (String c : chains) {
            restore.append("-F ").append(c).append('\n');
        }
        for (String c : chains) {
            restore.append("-X ").append(c).append('\n');
        }
        restore.append("COMMIT\n");
        Commands.run("sh", "-c", "printf '%s' \"$0\" | iptables-restore -w --noflush", restore.toString());
    }

    static PodSandboxConfig.Builder pod(String name, String cgroupTop) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("ext").setUid("u-" + name))
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/" + cgroupTop + "-" + name)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
                                NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER))));
    }

    /** Starts a one-shot TCP server in the pod, runs the sender until it gets through, returns what arrived. */
    static String exchange(BerthDaemon d, String netns, int port, java.util.function.BooleanSupplier send)
            throws Exception {
        List<String> cmd = d.namespace().wrap(List.of("nsenter", "--net=" + netns, PodCensus.busybox(), "nc", "-l",
                "-p", Integer.toString(port)));
        Process server = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            boolean sent = false;
            for (int i = 0; i < 50 && !sent; i++) {
                sent = send.getAsBoolean();
                if (!sent) {
                    Thread.sleep(50);
                }
            }
            assertTrue(sent, "could not connect to port " + port);
            assertTrue(server.waitFor(5, TimeUnit.SECONDS));
            return new String(server.getInputStream().readAllBytes()).strip();
        } finally {
            server.destroyForcibly();
        }
    }

    static boolean sendFromPod(BerthDaemon d, String netns, String ip, int port, String text) {
        try {
            Process c = new ProcessBuilder(d.namespace().wrap(List.of("nsenter", "--net=" + netns,
                    PodCensus.busybox(), "nc", "-w", "2", ip, Integer.toString(port)))).redirectErrorStream(true)
                    .start();
            try (OutputStream in = c.getOutputStream()) {
                in.write((text + "\n").getBytes());
            } catch (IOException notYet) {
                // refused: nc exited already
            }
            return c.waitFor(5, TimeUnit.SECONDS) && c.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static boolean sendFromHost(int port, String text) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            s.getOutputStream().write((text + "\n").getBytes());
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static List<String> split(String s) {
        return List.of(s.split(" "));
    }
}
