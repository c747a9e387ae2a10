package dev.berth.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.LocalRegistry;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.KeyValue;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.Mount;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PullImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * The agent's image (jib-core, on a base made here) pushed to the local test registry, pulled and
 * run as a pod by berth itself through the CRI, labels its Node in fabric8's mock API server.
 */
class AgentImageTest {
    static final String NODE = "node-image";

    @Test
    void agentImageRunOnBerthLabelsItsNode(@TempDir Path work) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "berth needs root");
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed");
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init(java.net.InetAddress.getLoopbackAddress(), 0);
        try (KubernetesClient client = server.createClient();
                LocalRegistry registry = LocalRegistry.start();
                BerthDaemon daemon = BerthDaemon.start(Map.of())) {
            client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE).endMetadata().build()).create();
            String image = AgentImage.buildAndPush(registry.host(), Path.of("").toAbsolutePath(), work);
            daemon.client().images().pullImage(PullImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(image)).build());

            Path kubeconfig = work.resolve("kubeconfig");
            Files.writeString(kubeconfig, """
                    apiVersion: v1
                    kind: Config
                    clusters: [{name: mock, cluster: {server: "http://127.0.0.1:%d"}}]
                    users: [{name: agent, user: {token: test}}]
                    contexts: [{name: mock, context: {cluster: mock, user: agent}}]
                    current-context: mock
                    """.formatted(server.getPort()));
            Path logs = Files.createDirectories(daemon.base().resolve("pod-logs/agent"));
            NamespaceOption ns = NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE).build();
            PodSandboxConfig pod = PodSandboxConfig.newBuilder()
                    .setMetadata(PodSandboxMetadata.newBuilder().setName("berth-agent").setNamespace("berth-system")
                            .setUid("u-agent"))
                    .setLogDirectory(logs.toString())
                    .setLinux(LinuxPodSandboxConfig.newBuilder()
                            .setCgroupParent("/berth-agent-image-" + daemon.httpPort() + "/agent")
                            .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(ns)))
                    .build();
            String podId = daemon.client().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pod)
                    .build()).getPodSandboxId();
            try {
                String socketDir = daemon.socket().getParent().toString();
                ContainerConfig c = ContainerConfig.newBuilder()
                        .setMetadata(ContainerMetadata.newBuilder().setName("agent"))
                        .setImage(ImageSpec.newBuilder().setImage(image))
                        .addEnvs(env("BERTH_AGENT_NODE_NAME", NODE))
                        .addEnvs(env("BERTH_AGENT_SOCKET", daemon.socket().toString()))
                        .addEnvs(env("BERTH_AGENT_STATUS_INTERVAL_SECONDS", "1"))
                        .addEnvs(env("BERTH_AGENT_METRICS_URL", daemon.httpUrl("/metrics")))
                        .addEnvs(env("KUBECONFIG", "/kube/config"))
                        .addMounts(Mount.newBuilder().setContainerPath(socketDir).setHostPath(socketDir))
                        .addMounts(Mount.newBuilder().setContainerPath("/kube/config").setHostPath(kubeconfig.toString())
                                .setReadonly(true))
                        .setLogPath("agent.log")
                        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                                LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(ns)))
                        .build();
                String id = daemon.client().runtime().createContainer(CreateContainerRequest.newBuilder()
                        .setPodSandboxId(podId).setSandboxConfig(pod).setConfig(c).build()).getContainerId();
                daemon.client().runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());

                long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                Node n = null;
                while (System.nanoTime() < deadline) {
                    n = client.nodes().withName(NODE).get();
                    if (n.getMetadata().getLabels() != null
                            && "berth".equals(n.getMetadata().getLabels().get("node.berth.dev/runtime"))) {
                        break;
                    }
                    Thread.sleep(250);
                }
                Path log = logs.resolve("agent.log");
                assertEquals("berth", n.getMetadata().getLabels() == null ? null
                        : n.getMetadata().getLabels().get("node.berth.dev/runtime"),
                        "the agent in its pod labelled the Node; its log:\n"
                                + (Files.exists(log) ? Files.readString(log) : "(none)"));
            } finally {
                daemon.client().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId)
                        .build());
                daemon.client().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder()
                        .setPodSandboxId(podId).build());
            }
        } finally {
            server.destroy();
        }
    }

    static KeyValue env(String k, String v) {
        return KeyValue.newBuilder().setKey(k).setValue(com.google.protobuf.ByteString.copyFromUtf8(v)).build();
    }
}
