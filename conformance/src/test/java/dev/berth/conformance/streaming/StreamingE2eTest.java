package dev.berth.conformance.streaming;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.streamclient.SpdyStreamClient;
import dev.berth.streamclient.WebSocketChannels;
import dev.berth.conformance.harness.TestImages;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import runtime.v1.AttachRequest;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PortForwardRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * Exec, Attach and PortForward end to end: the CRI call on berth's socket, then the returned URL with
 * a SPDY client as kubectl's and the JDK's WebSocket client as crictl's {@code -r websocket}, against
 * real containers (runc under conmon) of a started daemon.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamingE2eTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration T = Duration.ofSeconds(60);
    private static final List<String> EXEC_PROTOCOLS = List.of("v4.channel.k8s.io", "v3.channel.k8s.io");
    private static final int WEB_PORT = 8080;

    private LocalRegistry registry;
    private BerthDaemon daemon;
    private String image;
    private String hostPod;
    private PodSandboxConfig hostPodConfig;
    private String netPod;
    private String shell;
    private String printer;

    @BeforeAll
    void start() throws Exception {
        dev.berth.conformance.ContainerHost.assumeReady();
        registry = LocalRegistry.start();
        image = TestImages.pushBusybox(registry, "library/busybox", "stream").reference();
        daemon = BerthDaemon.start();
        cri().images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
        PodSandboxConfig host = podConfig("stream-host", NamespaceMode.NODE);
        hostPodConfig = host;
        hostPod = runPod(host);
        shell = runContainer(hostPod, host, "shell", NamespaceMode.NODE, "sleep", "3600");
        printer = runContainer(hostPod, host, "printer", NamespaceMode.NODE, "sh", "-c",
                "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done");
        PodSandboxConfig net = podConfig("stream-web", NamespaceMode.POD);
        netPod = runPod(net);
        String web = runContainer(netPod, net, "web", NamespaceMode.POD, "sh", "-c",
                "mkdir -p /www && echo hello-from-pod > /www/index.html && exec busybox httpd -f -p " + WEB_PORT
                        + " -h /www");
        waitUntil(() -> cri().runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(web).setTimeout(10)
                .addAllCmd(List.of("wget", "-q", "-O-", "http://127.0.0.1:" + WEB_PORT + "/index.html")).build())
                .getStdout().toStringUtf8().equals("hello-from-pod\n"), "httpd in the pod");
    }

    @AfterAll
    void stop() {
        if (daemon != null) {
            String run = daemon.run().toString();
            for (String pod : new String[] {hostPod, netPod}) {
                if (pod != null) {
                    try {
                        cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                        cri().runtime().removePodSandbox(
                                RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                    } catch (RuntimeException unreachable) {
                        // the daemon is gone; the sweep below still ends its monitors
                    }
                }
            }
            daemon.close();
            for (String pid : Commands.run("pgrep", "-f", "conmon.*" + run).output().strip().split("\\s+")) {
                if (!pid.isBlank()) {
                    Commands.run("kill", "-9", pid);
                }
            }
        }
        if (registry != null) {
            registry.close();
        }
    }

    private CriClient cri() {
        return daemon.client();
    }

    private PodSandboxConfig podConfig(String name, NamespaceMode network) throws Exception {
        Path logs = Files.createDirectories(daemon.base().resolve("pod-logs").resolve(name));
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("streaming")
                        .setUid(UUID.randomUUID().toString()))
                .setLogDirectory(logs.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext
                        .newBuilder().setNamespaceOptions(namespaces(network))))
                .build();
    }

    private static NamespaceOption namespaces(NamespaceMode network) {
        return NamespaceOption.newBuilder().setNetwork(network).setPid(NamespaceMode.CONTAINER)
                .setIpc(NamespaceMode.POD).build();
    }

    private String runPod(PodSandboxConfig cfg) {
        return cri().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(cfg).build())
                .getPodSandboxId();
    }

    private String runContainer(String pod, PodSandboxConfig podCfg, String name, NamespaceMode network,
            String... cmd) {
        String id = cri().runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                .setSandboxConfig(podCfg).setConfig(ContainerConfig.newBuilder()
                        .setMetadata(ContainerMetadata.newBuilder().setName(name))
                        .setImage(ImageSpec.newBuilder().setImage(image))
                        .addAllCommand(List.of(cmd))
                        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                                LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(namespaces(network))))
                        .setLogPath(name + ".log"))
                .build()).getContainerId();
        cri().runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    private String execUrl(boolean tty, boolean stdin, boolean stderr, String... cmd) {
        return cri().runtime().exec(ExecRequest.newBuilder().setContainerId(shell).addAllCmd(List.of(cmd))
                .setTty(tty).setStdin(stdin).setStdout(true).setStderr(stderr).build()).getUrl();
    }

    /** The Kubernetes Status the server sent on the error stream (the stream ended with FIN). */
    private JsonNode exitStatus(SpdyStreamClient.Stream error) throws Exception {
        boolean fin = error.ended().get(T.toMillis(), TimeUnit.MILLISECONDS);
        String text = error.soFar();
        JsonNode status = text.isEmpty() ? null : JSON.readTree(text);
        if (!fin || status == null || !status.has("status")) {
            String log = daemon.logText();
            throw new AssertionError("error stream " + (fin ? "finished" : "reset") + " with '" + text
                    + "'; daemon log ends:\n" + log.substring(Math.max(0, log.length() - 4000)));
        }
        return status;
    }

    static void waitUntil(BooleanSupplier cond, String what) throws InterruptedException {
        long end = System.nanoTime() + T.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void spdyExecEchoesStdinAndReportsExitCode3() throws Exception {
        String url = execUrl(false, true, true, "sh", "-c", "cat; echo to-stderr >&2; exit 3");
        assertTrue(url.startsWith("http://127.0.0.1:") && url.contains("/exec/"), url);
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, EXEC_PROTOCOLS)) {
            assertEquals("v4.channel.k8s.io", c.protocol());
            var error = c.open(Map.of("streamType", "error"));
            var stdin = c.open(Map.of("streamType", "stdin"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            var stderr = c.open(Map.of("streamType", "stderr"));
            stdin.write("hello\n");
            stdin.write("world\n");
            stdin.finish(); // EOF ends cat
            assertEquals("hello\nworld\n", stdout.text(T));
            assertEquals("to-stderr\n", stderr.text(T));
            JsonNode status = exitStatus(error);
            assertEquals("Failure", status.get("status").asText(), status.toString());
            assertEquals("NonZeroExitCode", status.get("reason").asText(), status.toString());
            JsonNode cause = status.get("details").get("causes").get(0);
            assertEquals("ExitCode", cause.get("reason").asText());
            assertEquals("3", cause.get("message").asText());
        }
    }

    @Test
    void sixteenMiBOfExecOutputArriveWhole() throws Exception {
        long size = 16L << 20;
        String url = execUrl(false, false, false, "head", "-c", Long.toString(size), "/dev/zero");
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, EXEC_PROTOCOLS)) {
            var error = c.open(Map.of("streamType", "error"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            stdout.discard();
            boolean fin = error.ended().get(T.toMillis(), TimeUnit.MILLISECONDS);
            assertTrue(fin, "error stream FIN; connection closed: " + c.closed().isDone() + ", stdout "
                    + stdout.receivedBytes() + " bytes, ended " + stdout.ended().getNow(null) + ", error '"
                    + error.soFar() + "'");
            assertEquals("Success", exitStatus(error).get("status").asText());
            assertTrue(stdout.ended().get(T.toMillis(), TimeUnit.MILLISECONDS), "stdout ended with FIN");
            assertEquals(size, stdout.receivedBytes());
        }
    }

    @Test
    void anExecEndsWhenItsContainerStops() throws Exception {
        String doomed = runContainer(hostPod, hostPodConfig, "doomed", NamespaceMode.NODE, "sleep", "3600");
        String url = cri().runtime().exec(ExecRequest.newBuilder().setContainerId(doomed)
                .addAllCmd(List.of("sh", "-c", "echo started; exec sleep 600")).setStdout(true).build()).getUrl();
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, EXEC_PROTOCOLS)) {
            var error = c.open(Map.of("streamType", "error"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            waitUntil(() -> stdout.soFar().equals("started\n"), "the exec'd process");
            cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(doomed).setTimeout(0).build());
            // The exec'd process dies with the container: the session ends, it does not hang.
            error.ended().get(T.toMillis(), TimeUnit.MILLISECONDS);
            String status = error.soFar();
            assertTrue(status.isEmpty() || !JSON.readTree(status).get("status").asText().equals("Success"), status);
        } finally {
            cri().runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(doomed).build());
        }
    }

    @Test
    void spdyExecWithTtySeesTheResize() throws Exception {
        // Polls until the terminal has the size the client sent: the resize and stdin are separate streams.
        String url = execUrl(true, true, false, "sh", "-c",
                "while [ \"$(busybox stty size)\" != '40 120' ]; do sleep 0.05; done; echo SIZE $(busybox stty size)");
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, EXEC_PROTOCOLS)) {
            var error = c.open(Map.of("streamType", "error"));
            c.open(Map.of("streamType", "stdin"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            var resize = c.open(Map.of("streamType", "resize"));
            resize.write("{\"Width\":120,\"Height\":40}");
            assertEquals("Success", exitStatus(error).get("status").asText());
            String out = stdout.text(T);
            assertTrue(out.contains("SIZE 40 120"), out);
            assertTrue(out.contains("\r\n"), "a TTY turns newlines into CRLF: " + out);
        }
    }

    @Test
    void spdyAttachSeesTheContainersOutput() throws Exception {
        String url = cri().runtime().attach(AttachRequest.newBuilder().setContainerId(printer).setStdout(true)
                .setStderr(true).build()).getUrl();
        assertTrue(url.contains("/attach/"), url);
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, EXEC_PROTOCOLS)) {
            c.open(Map.of("streamType", "error"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            c.open(Map.of("streamType", "stderr"));
            // Lines printed after the attach: at least two whole ones, in order.
            waitUntil(() -> stdout.soFar().lines().filter(l -> l.matches("line \\d+")).count() >= 3, "printed lines");
            List<Integer> numbers = stdout.soFar().lines().filter(l -> l.matches("line \\d+"))
                    .map(l -> Integer.parseInt(l.substring(5))).toList();
            for (int i = 1; i < numbers.size(); i++) {
                assertEquals(numbers.get(i - 1) + 1, numbers.get(i), "consecutive lines: " + numbers);
            }
        }
    }

    @Test
    void spdyPortForwardReachesAnHttpServerInThePodsNetwork() throws Exception {
        String url = cri().runtime().portForward(PortForwardRequest.newBuilder().setPodSandboxId(netPod)
                .addPort(WEB_PORT).build()).getUrl();
        assertTrue(url.contains("/portforward/"), url);
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, List.of("portforward.k8s.io"))) {
            assertEquals("portforward.k8s.io", c.protocol());
            String port = Integer.toString(WEB_PORT);
            var error = c.open(Map.of("streamType", "error", "port", port, "requestID", "0"));
            var data = c.open(Map.of("streamType", "data", "port", port, "requestID", "0"));
            data.write("GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n");
            // httpd answers and closes: the server ends the data stream
            assertTrue(data.ended().get(T.toMillis(), TimeUnit.MILLISECONDS), "data stream ended with FIN");
            String answer = data.soFar();
            assertTrue(answer.startsWith("HTTP/1.") && answer.contains(" 200 ") && answer.endsWith("hello-from-pod\n"),
                    answer + " / error: " + error.soFar());
        }
    }

    @Test
    void aReusedOrUnknownTokenIs404() throws Exception {
        String url = execUrl(false, false, false, "true");
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, EXEC_PROTOCOLS)) {
            var error = c.open(Map.of("streamType", "error"));
            c.open(Map.of("streamType", "stdout"));
            assertEquals("Success", exitStatus(error).get("status").asText());
        }
        var reused = assertThrows(SpdyStreamClient.Refused.class, () -> SpdyStreamClient.connect(url, EXEC_PROTOCOLS));
        assertEquals(404, reused.status());
        String unknown = url.substring(0, url.lastIndexOf('/') + 1) + "no-such-token";
        assertEquals(404, assertThrows(SpdyStreamClient.Refused.class,
                () -> SpdyStreamClient.connect(unknown, EXEC_PROTOCOLS)).status());
    }

    @Test
    void webSocketExecEchoesStdinClosesItWithV5AndReportsExitCode3() throws Exception {
        String url = execUrl(false, true, true, "sh", "-c", "cat; exit 3");
        try (HttpClient http = HttpClient.newHttpClient()) {
            WebSocketChannels m = new WebSocketChannels();
            WebSocket ws = http.newWebSocketBuilder().subprotocols("v5.channel.k8s.io", "v4.channel.k8s.io")
                    .buildAsync(URI.create(url.replace("http://", "ws://")), m).get(30, TimeUnit.SECONDS);
            assertEquals("v5.channel.k8s.io", ws.getSubprotocol());
            ws.sendBinary(WebSocketChannels.message(0, "over websocket\n"), true).get();
            ws.sendBinary(ByteBuffer.wrap(new byte[] {(byte) 255, 0}), true).get(); // v5: close stdin
            m.closed().get(T.toMillis(), TimeUnit.MILLISECONDS);
            assertEquals("over websocket\n", m.channel(1));
            JsonNode status = JSON.readTree(m.channel(3));
            assertEquals("NonZeroExitCode", status.get("reason").asText(), status.toString());
            assertEquals("3", status.get("details").get("causes").get(0).get("message").asText());
        }
    }

    @Test
    void webSocketPortForwardAnnouncesThePortAndRelays() throws Exception {
        String url = cri().runtime().portForward(PortForwardRequest.newBuilder().setPodSandboxId(netPod)
                .addPort(WEB_PORT).build()).getUrl();
        try (HttpClient http = HttpClient.newHttpClient()) {
            WebSocketChannels m = new WebSocketChannels();
            WebSocket ws = http.newWebSocketBuilder().subprotocols("v4.channel.k8s.io")
                    .buildAsync(URI.create(url.replace("http://", "ws://")), m)
                    .get(30, TimeUnit.SECONDS);
            waitUntil(() -> m.messages().size() >= 2, "port announcements");
            byte[] port = {(byte) (WEB_PORT & 0xFF), (byte) (WEB_PORT >> 8)};
            assertArrayEquals(new byte[] {0, port[0], port[1]}, m.messages().get(0));
            assertArrayEquals(new byte[] {1, port[0], port[1]}, m.messages().get(1));
            ws.sendBinary(WebSocketChannels.message(0, "GET /index.html HTTP/1.0\r\n\r\n"), true).get();
            // the first message of each channel was the port announcement
            waitUntil(() -> m.channel(0, 1).endsWith("hello-from-pod\n") || !m.channel(1, 1).isEmpty(), "the answer");
            String data = m.channel(0, 1);
            assertTrue(data.startsWith("HTTP/1.") && data.contains(" 200 "), data + " / error: " + m.channel(1, 1));
            ws.abort(); // the server may have closed already, after httpd closed the connection
        }
    }
}
