package dev.berth.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PullImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StatusRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * The agent against a real berth daemon and fabric8's mock API server in CRUD mode: before berth
 * answers the Node says BerthRuntimeReady Unknown (BerthUnreachable) and has no berth label; once
 * berth runs, the label, the version/handler/feature annotations and the condition as berth's
 * Status says; a failed pull and a restarted container become Events; after berth restarts the
 * agent follows its events again.
 */
class NodeAgentTest {
    static final String NODE = "node-a";
    KubernetesMockServer server;
    KubernetesClient client;
    BerthDaemon daemon;
    LocalRegistry registry;
    NodeAgent agent;

    @BeforeEach
    void setUp() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init();
        client = server.createClient();
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE).endMetadata().withNewStatus()
                .addNewCondition().withType("Ready").withStatus("True").withReason("KubeletReady").endCondition()
                .endStatus().build()).create();
    }

    @AfterEach
    void tearDown() {
        if (agent != null) {
            agent.close();
        }
        if (daemon != null) {
            daemon.close();
        }
        if (registry != null) {
            registry.close();
        }
        client.close();
        server.destroy();
    }

    @Test
    void labelsConditionAndEventsFollowBerth() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "berth needs root");
        assumeTrue(LocalRegistry.available() && TestImages.available(), "docker-registry and busybox-static");
        daemon = BerthDaemon.prepare(Map.of());
        AgentSettings settings = new AgentSettings(NODE, daemon.socket(), "node.berth.dev/runtime", "berth",
                Duration.ofMillis(500), 600, daemon.httpUrl("/metrics"));
        agent = new NodeAgent(settings, client);
        agent.start();

        NodeCondition unknown = await("BerthRuntimeReady Unknown before berth runs", () -> condition("Unknown"));
        assertEquals("BerthUnreachable", unknown.getReason());
        assertFalse(node().getMetadata().getLabels() != null
                && "berth".equals(node().getMetadata().getLabels().get("node.berth.dev/runtime")));

        daemon.startProcess();
        var status = daemon.client().runtime().status(StatusRequest.newBuilder().build());
        NodeReport.Condition expected = NodeReport.readiness(status);
        NodeCondition c = await("BerthRuntimeReady as berth's Status", () -> {
            NodeCondition x = condition(expected.status());
            return x != null && x.getReason().equals(expected.reason()) ? x : null;
        });
        assertEquals(expected.message(), c.getMessage());
        Node n = node();
        assertEquals("berth", n.getMetadata().getLabels().get("node.berth.dev/runtime"));
        Map<String, String> ann = n.getMetadata().getAnnotations();
        assertFalse(ann.get("berth.dev/version").isBlank());
        assertTrue(List.of(ann.get("berth.dev/runtime-handlers").split(",")).contains("runc"), ann.toString());
        assertNotNull(ann.get("berth.dev/features"));
        assertTrue(n.getStatus().getConditions().stream().anyMatch(x -> x.getType().equals("Ready")),
                "kubelet's own conditions stay");

        // A failed pull: an Event on the Node.
        registry = LocalRegistry.start();
        try {
            daemon.client().images().pullImage(PullImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(registry.host() + "/no/such:image")).build());
        } catch (RuntimeException expectedFailure) {
            // counted by berth as not_found
        }
        Event pull = await("ImagePullFailed Event", () -> event("default", "ImagePullFailed"));
        assertEquals("Node", pull.getInvolvedObject().getKind());
        assertEquals(NODE, pull.getInvolvedObject().getName());
        assertTrue(pull.getMessage().contains("not_found"), pull.getMessage());

        // A container started again (attempt 1): an Event on its Pod.
        String image = TestImages.pushBusybox(registry, "library/busybox", "agent").reference();
        daemon.client().images().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(image)).build());
        Pod pod = pod("agent-pod");
        try {
            // the agent subscribes with a growing pause while berth was down: events before are not replayed
            awaitSubscribed();
            run(pod, image, "app", 1);
            Event restart;
            try {
                restart = await("ContainerRestarted Event", () -> event("agent-ns", "ContainerRestarted"));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; berth's log:\n" + daemon.logText(), e);
            }
            assertEquals("Pod", restart.getInvolvedObject().getKind());
            assertEquals("agent-pod", restart.getInvolvedObject().getName());
            assertEquals("spec.containers{app}", restart.getInvolvedObject().getFieldPath());

            // berth restarts: the agent subscribes again and still sees restarts.
            daemon.restart();
            // events while the agent is not subscribed are not replayed: wait for its new subscription
            awaitSubscribed();
            run(pod, image, "app", 2);
            await("an Event after berth restarted", () -> client.v1().events().inNamespace("agent-ns").list()
                    .getItems().stream().filter(e -> e.getMessage().contains("restart 2")).findFirst().orElse(null));
        } finally {
            daemon.client().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.id).build());
            daemon.client().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.id)
                    .build());
        }
        assertEquals(0, agent.eventCounts()[1], "no Event dropped");
    }

    record Pod(String id, PodSandboxConfig config) {}

    Pod pod(String name) throws Exception {
        Path logs = Files.createDirectories(daemon.base().resolve("pod-logs").resolve(name));
        NamespaceOption ns = NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE).build();
        PodSandboxConfig config = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("agent-ns").setUid("u-" + name))
                .setLogDirectory(logs.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder()
                        .setCgroupParent("/berth-agent-" + daemon.httpPort() + "/" + name)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(ns)))
                .build();
        String id = daemon.client().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
                .getPodSandboxId();
        return new Pod(id, config);
    }

    void run(Pod pod, String image, String name, int attempt) {
        ContainerConfig config = ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(name).setAttempt(attempt))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addAllCommand(List.of("sh", "-c", "exit 0"))
                .setLogPath(name + "-" + attempt + ".log")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext
                        .newBuilder().setNamespaceOptions(pod.config().getLinux().getSecurityContext()
                                .getNamespaceOptions())))
                .build();
        String id = daemon.client().runtime().createContainer(CreateContainerRequest.newBuilder()
                .setPodSandboxId(pod.id()).setSandboxConfig(pod.config()).setConfig(config).build()).getContainerId();
        daemon.client().runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    }

    /** berth counts an open GetContainerEvents stream: the agent's. */
    void awaitSubscribed() throws InterruptedException {
        var http = java.net.http.HttpClient.newHttpClient();
        await("the agent's GetContainerEvents subscription", () -> {
            try {
                String m = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                        daemon.httpUrl("/metrics"))).header("Accept", "text/plain; version=0.0.4").build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                return m.lines().anyMatch(l -> l.startsWith("berth_cri_events_subscribers ")
                        && !l.endsWith(" 0.0")) ? m : null;
            } catch (java.io.IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        });
    }

    Node node() {
        return client.nodes().withName(NODE).get();
    }

    NodeCondition condition(String status) {
        Node n = node();
        if (n.getStatus() == null || n.getStatus().getConditions() == null) {
            return null;
        }
        return n.getStatus().getConditions().stream()
                .filter(c -> c.getType().equals("BerthRuntimeReady") && c.getStatus().equals(status))
                .findFirst().orElse(null);
    }

    Event event(String namespace, String reason) {
        return client.v1().events().inNamespace(namespace).list().getItems().stream()
                .filter(e -> e.getReason().equals(reason)).findFirst().orElse(null);
    }

    static <T> T await(String what, Supplier<T> probe) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            T v = probe.get();
            if (v != null) {
                return v;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out waiting for " + what);
    }
}
