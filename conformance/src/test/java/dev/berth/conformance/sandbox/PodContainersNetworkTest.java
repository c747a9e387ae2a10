package dev.berth.conformance.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.CreateContainerRequest;
import runtime.v1.DNSConfig;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * Containers inside berth's pods: they see the pod's IP on eth0, its hostname and DNS files, talk
 * to a container of another pod over TCP by IP, and a host-network pod's container sees the host's
 * interfaces. StopPodSandbox/RemovePodSandbox take the containers with them (PodContainers).
 */
class PodContainersNetworkTest {
    static LocalRegistry registry;
    static BerthDaemon daemon;
    static String image;
    static String cgroupTop;
    List<String> before;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(PodCensus.privileged(), "needs root, iproute2, iptables, nsenter and busybox-static");
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (apt-get install docker-registry)");
        assumeTrue(TestImages.available(), "/bin/busybox is missing (apt-get install busybox-static)");
        registry = LocalRegistry.start();
        image = TestImages.pushBusybox(registry, "library/busybox", "sandbox-net").reference();
        daemon = BerthDaemon.start();
        cgroupTop = "berth-podctr-" + daemon.httpPort();
        daemon.client().images().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(image)).build());
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    @BeforeEach
    void census() {
        before = PodCensus.take(daemon, cgroupTop, subnetMarker());
    }

    @AfterEach
    void removeAll() {
        var rt = daemon.client().runtime();
        for (var p : rt.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
            rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
            rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
        }
        assertEquals(0, rt.listContainers(runtime.v1.ListContainersRequest.getDefaultInstance()).getContainersCount(),
                "RemovePodSandbox left containers");
        assertEquals(before, PodCensus.takeSettled(before, daemon, cgroupTop, subnetMarker()), "pods left something behind");
    }

    static String subnetMarker() {
        String subnet = daemon.env().get("BERTH_CNI_DEFAULT_SUBNET");
        return subnet.substring(0, subnet.lastIndexOf('.') + 1);
    }

    record Pod(String id, PodSandboxConfig config, NamespaceOption ns) {}

    static Pod pod(String name, NamespaceMode network, String hostname) throws Exception {
        NamespaceOption ns = NamespaceOption.newBuilder().setNetwork(network).setPid(NamespaceMode.CONTAINER)
                .setIpc(NamespaceMode.POD).build();
        Path logs = Files.createDirectories(daemon.base().resolve("pod-logs").resolve(name));
        PodSandboxConfig.Builder c = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("podnet").setUid("u-" + name))
                .setLogDirectory(logs.toString())
                .setDnsConfig(DNSConfig.newBuilder().addServers("10.96.0.10").addSearches("podnet.svc.cluster.local"))
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/" + cgroupTop + "-" + name)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(ns)));
        if (hostname != null) {
            c.setHostname(hostname);
        }
        PodSandboxConfig config = c.build();
        String id = daemon.client().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config)
                .build()).getPodSandboxId();
        return new Pod(id, config, ns);
    }

    static String container(Pod pod, String name, String script) {
        var rt = daemon.client().runtime();
        String id = rt.createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod.id)
                .setSandboxConfig(pod.config)
                .setConfig(ContainerConfig.newBuilder()
                        .setMetadata(ContainerMetadata.newBuilder().setName(name))
                        .setImage(ImageSpec.newBuilder().setImage(image))
                        .addAllCommand(List.of("sh", "-c", script))
                        .setLogPath(name + ".log")
                        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                                LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(pod.ns))))
                .build()).getContainerId();
        rt.startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    static String exec(String container, String... cmd) {
        ExecSyncResponse r = daemon.client().runtime().execSync(ExecSyncRequest.newBuilder()
                .setContainerId(container).addAllCmd(List.of(cmd)).setTimeout(10).build());
        return r.getStdout().toStringUtf8() + r.getStderr().toStringUtf8();
    }

    @Test
    void containersUseThePodsNetworkNameAndDnsAndTalkAcrossPods() throws Exception {
        Pod a = pod("ctr-a", NamespaceMode.POD, "web-a");
        Pod b = pod("ctr-b", NamespaceMode.POD, null);
        String ipA = daemon.client().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(a.id).build()).getStatus().getNetwork().getIp();
        String server = container(a, "server", "nc -l -p 8080 > /tmp/got; sleep 3600");
        String client = container(b, "client", "sleep 3600");

        assertTrue(exec(server, "ip", "-4", "-o", "addr", "show", "eth0").contains("inet " + ipA + "/"));
        assertEquals("web-a", exec(server, "hostname").strip());
        String resolv = exec(server, "cat", "/etc/resolv.conf");
        assertTrue(resolv.contains("nameserver 10.96.0.10") && resolv.contains("search podnet.svc.cluster.local"),
                resolv);
        assertTrue(exec(server, "cat", "/etc/hosts").contains(ipA + "\tweb-a"));

        String got = "";
        for (int i = 0; i < 50 && got.isEmpty(); i++) {
            exec(client, "sh", "-c", "echo across-pods | nc -w 2 " + ipA + " 8080");
            got = exec(server, "cat", "/tmp/got").strip();
            if (got.isEmpty()) {
                Thread.sleep(100);
            }
        }
        assertEquals("across-pods", got);
    }

    @Test
    void hostNetworkContainerSeesTheHostsInterfaces() throws Exception {
        Pod h = pod("ctr-host", NamespaceMode.NODE, null);
        String c = container(h, "looker", "sleep 3600");
        List<String> inPod = exec(c, "ip", "-o", "link").lines().map(l -> l.split(":")[1].strip()).sorted().toList();
        List<String> host = Commands.run("ip", "-o", "link").output().lines()
                .map(l -> l.split(":")[1].strip().replaceAll("@.*", "")).sorted().toList();
        // links come and go with other work on the machine: the host's physical ones must all be there
        for (String name : List.of("lo", "eth0")) {
            if (host.contains(name)) {
                assertTrue(inPod.stream().anyMatch(n -> n.startsWith(name)), inPod.toString());
            }
        }
        assertTrue(inPod.size() > 1, inPod.toString());
    }
}
