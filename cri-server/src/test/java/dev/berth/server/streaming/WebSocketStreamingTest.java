package dev.berth.server.streaming;

import dev.berth.streamclient.WebSocketChannels;

import static dev.berth.server.streaming.SpdyStreamingTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The streaming server against the JDK's WebSocket client speaking the k8s channel protocols. */
class WebSocketStreamingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FakeContainerStreams runtime = new FakeContainerStreams();
    private final HttpClient http = HttpClient.newHttpClient();
    private StreamServer server;

    @BeforeEach
    void start() throws Exception {
        server = new StreamServer(new StreamServer.Settings("127.0.0.1", 0, Duration.ofMinutes(5), 8), () -> runtime,
                new StreamTokens());
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
        runtime.sessions.forEach(FakeContainerStreams.Session::close);
        http.close();
    }

    private WebSocket connect(String url, WebSocketChannels c, String... protocols) throws Exception {
        var b = http.newWebSocketBuilder();
        if (protocols.length > 0) {
            b.subprotocols(protocols[0], java.util.Arrays.copyOfRange(protocols, 1, protocols.length));
        }
        return b.buildAsync(URI.create(url.replace("http://", "ws://")), c).get(10, TimeUnit.SECONDS);
    }

    @Test
    void v5ExecEchoesStdinEndsItWithTheCloseSignalAndReportsSuccess() throws Exception {
        String url = server.url(new StreamTarget.Exec("c1", List.of("cat"), false, true, true, true));
        WebSocketChannels c = new WebSocketChannels();
        WebSocket ws = connect(url, c, "v5.channel.k8s.io", "v4.channel.k8s.io");
        assertEquals("v5.channel.k8s.io", ws.getSubprotocol());
        ws.sendBinary(WebSocketChannels.message(0, "hello\n"), true).get();
        ws.sendBinary(ByteBuffer.wrap(new byte[] {(byte) 255, 0}), true).get(); // close stdin
        c.closed().get(15, TimeUnit.SECONDS);
        assertArrayEquals(new byte[] {1}, c.messages().getFirst(), "kubelet's first message: empty, on stdout");
        assertEquals("hello\n", c.channel(1));
        JsonNode status = JSON.readTree(c.channel(3));
        assertEquals("Success", status.get("status").asText());
        assertTrue(runtime.sessions.getFirst().closed);
    }

    @Test
    void v4ExecReportsExitCode3() throws Exception {
        String url = server.url(new StreamTarget.Exec("c1", List.of("echo out; echo err >&2; exit 3"), false, false,
                true, true));
        WebSocketChannels c = new WebSocketChannels();
        WebSocket ws = connect(url, c, "v4.channel.k8s.io");
        assertEquals("v4.channel.k8s.io", ws.getSubprotocol());
        c.closed().get(15, TimeUnit.SECONDS);
        assertEquals("out\n", c.channel(1));
        assertEquals("err\n", c.channel(2));
        JsonNode status = JSON.readTree(c.channel(3));
        assertEquals("NonZeroExitCode", status.get("reason").asText());
        assertEquals("3", status.get("details").get("causes").get(0).get("message").asText());
    }

    @Test
    void resizeOnChannel4ReachesTheTerminal() throws Exception {
        String url = server.url(new StreamTarget.Exec("c1", List.of("cat"), true, true, true, false));
        WebSocketChannels c = new WebSocketChannels();
        WebSocket ws = connect(url, c, "v5.channel.k8s.io");
        ws.sendBinary(WebSocketChannels.message(4, "{\"Width\":132,\"Height\":43}"), true).get();
        waitFor(() -> !runtime.sessions.isEmpty() && !runtime.sessions.getFirst().resizes.isEmpty(), "resize");
        assertArrayEquals(new int[] {132, 43}, runtime.sessions.getFirst().resizes.getFirst());
        ws.sendBinary(ByteBuffer.wrap(new byte[] {(byte) 255, 0}), true).get();
        c.closed().get(15, TimeUnit.SECONDS);
    }

    @Test
    void portForwardV4AnnouncesThePortAndRelays() throws Exception {
        try (ServerSocket echo = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> SpdyStreamingTest.echoOnce(echo));
            int port = echo.getLocalPort();
            String url = server.url(new StreamTarget.PortForward("pod1", List.of(port)));
            WebSocketChannels c = new WebSocketChannels();
            WebSocket ws = connect(url, c, "v4.channel.k8s.io");
            waitFor(() -> c.messages().size() >= 2, "port announcements");
            byte[] portBytes = {(byte) (port & 0xFF), (byte) (port >> 8)};
            assertArrayEquals(new byte[] {0, portBytes[0], portBytes[1]}, c.messages().get(0));
            assertArrayEquals(new byte[] {1, portBytes[0], portBytes[1]}, c.messages().get(1));
            ws.sendBinary(WebSocketChannels.message(0, "ping\n"), true).get();
            waitFor(() -> c.channel(0).endsWith("PING\n"), "echo");
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get();
            c.closed().get(15, TimeUnit.SECONDS);
        }
    }

    @Test
    void aSubprotocolTheServerDoesNotSpeakIs403() throws Exception {
        String url = server.url(new StreamTarget.Exec("c1", List.of("true"), false, false, true, false));
        ExecutionException e = assertThrows(ExecutionException.class, () -> connect(url, new WebSocketChannels(),
                "v9.channel.k8s.io"));
        WebSocketHandshakeException h = assertInstanceOf(WebSocketHandshakeException.class, e.getCause());
        assertEquals(403, h.getResponse().statusCode());
        assertTrue(runtime.sessions.isEmpty());
    }

    @Test
    void aUsedTokenIs404() throws Exception {
        String url = server.url(new StreamTarget.Exec("c1", List.of("true"), false, false, true, false));
        WebSocketChannels c = new WebSocketChannels();
        connect(url, c, "v5.channel.k8s.io");
        c.closed().get(15, TimeUnit.SECONDS);
        ExecutionException e = assertThrows(ExecutionException.class, () -> connect(url, new WebSocketChannels(),
                "v5.channel.k8s.io"));
        assertEquals(404, ((WebSocketHandshakeException) e.getCause()).getResponse().statusCode());
        assertEquals(1, runtime.sessions.size());
    }
}
