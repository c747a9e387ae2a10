package dev.berth.server.streaming;

import dev.berth.streamclient.SpdyStreamClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The streaming server against a SPDY/3.1 client that behaves as client-go's (spdystream). */
class SpdyStreamingTest {
    private static final Duration T = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FakeContainerStreams runtime = new FakeContainerStreams();
    private final AtomicLong clock = new AtomicLong(System.nanoTime());
    private StreamServer server;

    private StreamServer start(Duration idle, int maxSessions) throws Exception {
        server = new StreamServer(new StreamServer.Settings("127.0.0.1", 0, idle, maxSessions, Duration.ofSeconds(5)),
                () -> runtime, new StreamTokens(clock::get, StreamTokens.TTL));
        server.start();
        return server;
    }

    private StreamServer start() throws Exception {
        return start(Duration.ofMinutes(5), 16);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        runtime.sessions.forEach(FakeContainerStreams.Session::close);
    }

    private static StreamTarget.Exec exec(List<String> cmd, boolean tty, boolean stdin, boolean stdout, boolean stderr) {
        return new StreamTarget.Exec("c1", cmd, tty, stdin, stdout, stderr);
    }

    @Test
    void execEchoesStdinAndReportsSuccessAsStatusJson() throws Exception {
        start();
        String url = server.url(exec(List.of("cat"), false, true, true, true));
        assertTrue(url.matches("http://127\\.0\\.0\\.1:\\d+/exec/[A-Za-z0-9_-]{20,}"), url);
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("v4.channel.k8s.io", "v3.channel.k8s.io"))) {
            assertEquals("v4.channel.k8s.io", c.protocol());
            var error = c.open(Map.of("streamType", "error"));
            var stdin = c.open(Map.of("streamType", "stdin"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            var stderr = c.open(Map.of("streamType", "stderr"));
            stdin.write("hello\n");
            stdin.write("world\n");
            stdin.finish(); // EOF: cat exits 0
            assertEquals("hello\nworld\n", stdout.text(T));
            assertEquals("", stderr.text(T));
            JsonNode status = JSON.readTree(error.text(T));
            assertEquals("Success", status.get("status").asText(), status.toString());
            c.closed().get(10, TimeUnit.SECONDS);
        }
        assertTrue(runtime.sessions.getFirst().closed, "the exec session is closed at the end");
        waitFor(() -> server.openSessions() == 0, "session slot released");
    }

    @Test
    void nonZeroExitIsNonZeroExitCodeWithTheExitCodeCause() throws Exception {
        start();
        String url = server.url(exec(List.of("echo out; echo err >&2; exit 3"), false, false, true, true));
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("v4.channel.k8s.io"))) {
            var error = c.open(Map.of("streamType", "error"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            var stderr = c.open(Map.of("streamType", "stderr"));
            assertEquals("out\n", stdout.text(T));
            assertEquals("err\n", stderr.text(T));
            JsonNode status = JSON.readTree(error.text(T));
            assertEquals("Failure", status.get("status").asText());
            assertEquals("NonZeroExitCode", status.get("reason").asText());
            JsonNode cause = status.get("details").get("causes").get(0);
            assertEquals("ExitCode", cause.get("reason").asText());
            assertEquals("3", cause.get("message").asText());
        }
    }

    @Test
    void olderProtocolsGetTheFailureAsText() throws Exception {
        start();
        String url = server.url(exec(List.of("exit 3"), false, false, true, false));
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("v2.channel.k8s.io"))) {
            assertEquals("v2.channel.k8s.io", c.protocol());
            var error = c.open(Map.of("streamType", "error"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            assertEquals("", stdout.text(T));
            String text = error.text(T);
            assertTrue(text.startsWith("command terminated with non-zero exit code") && text.contains("exit code 3"),
                    text);
        }
    }

    @Test
    void resizeEventsReachTheTerminal() throws Exception {
        start();
        String url = server.url(exec(List.of("cat"), true, true, true, false));
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("v4.channel.k8s.io"))) {
            var error = c.open(Map.of("streamType", "error"));
            var stdin = c.open(Map.of("streamType", "stdin"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            var resize = c.open(Map.of("streamType", "resize"));
            // One JSON object split across frames, then a second in the same frame as the end of the first.
            resize.write("{\"Width\":100,\"He");
            resize.write("ight\":40}{\"Width\":120,\"Height\":50}");
            waitFor(() -> runtime.sessions.size() == 1 && runtime.sessions.getFirst().resizes.size() == 2, "resizes");
            var sizes = runtime.sessions.getFirst().resizes;
            assertEquals(List.of(100, 40), List.of(sizes.get(0)[0], sizes.get(0)[1]));
            assertEquals(List.of(120, 50), List.of(sizes.get(1)[0], sizes.get(1)[1]));
            stdin.write("typed\n");
            stdin.finish();
            assertEquals("typed\n", stdout.text(T));
            assertEquals("Success", JSON.readTree(error.text(T)).get("status").asText());
        }
    }

    @Test
    void unknownReusedAndExpiredTokensAre404AndStartNothing() throws Exception {
        start();
        String url = server.url(exec(List.of("true"), false, false, true, false));
        String base = url.substring(0, url.lastIndexOf('/') + 1);
        var unknown = assertThrows(SpdyStreamClient.Refused.class,
                () -> SpdyStreamClient.connect(base + "no-such-token", "POST", List.of("v4.channel.k8s.io")));
        assertEquals(404, unknown.status());
        // a token is only good for its own kind of URL
        var wrongKind = assertThrows(SpdyStreamClient.Refused.class, () -> SpdyStreamClient.connect(
                url.replace("/exec/", "/attach/"), "POST", List.of("v4.channel.k8s.io")));
        assertEquals(404, wrongKind.status());
        // ...and the attempt used it up
        assertEquals(404, assertThrows(SpdyStreamClient.Refused.class,
                () -> SpdyStreamClient.connect(url, "POST", List.of("v4.channel.k8s.io"))).status());

        String fresh = server.url(exec(List.of("true"), false, false, true, false));
        try (SpdyStreamClient c = SpdyStreamClient.connect(fresh, "POST", List.of("v4.channel.k8s.io"))) {
            c.open(Map.of("streamType", "error"));
            c.open(Map.of("streamType", "stdout"));
            c.closed().get(10, TimeUnit.SECONDS);
        }
        assertEquals(404, assertThrows(SpdyStreamClient.Refused.class,
                () -> SpdyStreamClient.connect(fresh, "POST", List.of("v4.channel.k8s.io"))).status(), "reused");

        String expiring = server.url(exec(List.of("true"), false, false, true, false));
        clock.addAndGet(StreamTokens.TTL.toNanos() + 1);
        assertEquals(404, assertThrows(SpdyStreamClient.Refused.class,
                () -> SpdyStreamClient.connect(expiring, "POST", List.of("v4.channel.k8s.io"))).status(), "expired");
        assertEquals(1, runtime.sessions.size(), "only the one valid use started anything");
    }

    @Test
    void noCommonProtocolIs403NamingTheAcceptedOnes() throws Exception {
        start();
        String url = server.url(exec(List.of("true"), false, false, true, false));
        var refused = assertThrows(SpdyStreamClient.Refused.class,
                () -> SpdyStreamClient.connect(url, "POST", List.of("v9.channel.k8s.io")));
        assertEquals(403, refused.status());
        assertEquals(List.of("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"),
                refused.headers().getAll("X-Accepted-Stream-Protocol-Versions"));
        String missing = server.url(exec(List.of("true"), false, false, true, false));
        assertEquals(400, assertThrows(SpdyStreamClient.Refused.class,
                () -> SpdyStreamClient.connect(missing, "POST", List.of())).status());
        assertTrue(runtime.sessions.isEmpty());
    }

    @Test
    void sixteenMiBOfStdoutPassWhileAStalledClientCannotGrowTheBuffers() throws Exception {
        start();
        long size = 16L << 20;
        String url = server.url(exec(List.of("generate", Long.toString(size)), false, false, true, false));
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("v4.channel.k8s.io"))) {
            var error = c.open(Map.of("streamType", "error"));
            c.setAutoRead(false);
            var stdout = c.openNoWait(Map.of("streamType", "stdout"));
            stdout.discard();
            waitFor(() -> runtime.sessions.size() == 1, "exec started");
            var gen = (FakeContainerStreams.Generated) runtime.sessions.getFirst();
            // The client reads nothing: production stops once the socket buffers and the
            // server's bounded outbound buffer are full.
            long last = -1;
            while (gen.produced.get() != last) {
                last = gen.produced.get();
                Thread.sleep(300);
            }
            assertTrue(gen.produced.get() < size, "production stalls: " + gen.produced.get());
            long pending = server.pendingOutboundBytes();
            assertTrue(pending <= StreamServer.HIGH_WATER + 2 * 32 * 1024 + 4096,
                    "server buffers stay bounded while the client stalls: " + pending);
            CRC32 crc = new CRC32();
            stdout.keep();
            c.setAutoRead(true);
            boolean fin = stdout.ended().get(60, TimeUnit.SECONDS);
            byte[] all = stdout.bytes();
            assertEquals(size, stdout.receivedBytes(), "FIN " + fin + ", connection closed " + c.closed().isDone());
            crc.update(all);
            CRC32 want = new CRC32();
            byte[] pattern = new byte[(int) size];
            for (int i = 0; i < pattern.length; i++) {
                pattern[i] = (byte) (i % 251);
            }
            want.update(pattern);
            // bytes dropped while keep was false make the sum differ; compare what was kept against the pattern tail
            int kept = all.length;
            CRC32 tail = new CRC32();
            tail.update(pattern, (int) (size - kept), kept);
            assertEquals(tail.getValue(), crc.getValue(), "the bytes arrive in order and intact");
            assertEquals("Success", JSON.readTree(error.text(T)).get("status").asText());
        }
    }

    @Test
    void portForwardRelaysBothWaysAndReportsARefusedPortOnItsErrorStream() throws Exception {
        start();
        try (ServerSocket echo = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> echoOnce(echo));
            String url = server.url(new StreamTarget.PortForward("pod1", List.of()));
            try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("portforward.k8s.io"))) {
                String port = Integer.toString(echo.getLocalPort());
                var error = c.open(Map.of("streamType", "error", "port", port, "requestID", "0"));
                var data = c.open(Map.of("streamType", "data", "port", port, "requestID", "0"));
                data.write("ping\n");
                waitFor(() -> data.soFar().equals("PING\n"), "echo answered");
                data.finish();
                assertEquals("PING\n", data.text(T));
                assertEquals("", error.text(T));

                int closedPort;
                try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                    closedPort = s.getLocalPort();
                }
                var error2 = c.open(Map.of("streamType", "error", "port", Integer.toString(closedPort), "requestID", "1"));
                var data2 = c.open(Map.of("streamType", "data", "port", Integer.toString(closedPort), "requestID", "1"));
                String msg = error2.text(T);
                assertTrue(msg.startsWith("error forwarding port " + closedPort + " to pod pod1"), msg);
                assertFalse(data2.ended().get(10, TimeUnit.SECONDS), "the data stream is reset");

                var bad = c.openNoWait(Map.of("streamType", "data", "port", "0", "requestID", "2"));
                assertFalse(bad.ended().get(10, TimeUnit.SECONDS), "a stream without a valid port is refused");
            }
        }
        assertEquals(2, runtime.portForwards.get());
    }

    @Test
    void sessionLimitRefusesAtTheRpcAndAtTheUpgrade() throws Exception {
        start(Duration.ofMinutes(5), 1);
        String first = server.url(exec(List.of("cat"), false, true, true, false));
        String second = server.url(exec(List.of("cat"), false, true, true, false));
        try (SpdyStreamClient c = SpdyStreamClient.connect(first, "POST", List.of("v4.channel.k8s.io"))) {
            BerthException e = assertThrows(BerthException.class,
                    () -> server.url(exec(List.of("cat"), false, true, true, false)));
            assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind());
            assertTrue(e.getMessage().contains("stream.max_sessions"), e.getMessage());
            var refused = assertThrows(SpdyStreamClient.Refused.class,
                    () -> SpdyStreamClient.connect(second, "POST", List.of("v4.channel.k8s.io")));
            assertEquals(429, refused.status());
        }
        waitFor(() -> server.openSessions() == 0, "slot released when the client left");
        server.url(exec(List.of("cat"), false, true, true, false));
    }

    @Test
    void idleConnectionsAreClosedAndTheirProcessKilled() throws Exception {
        start(Duration.ofSeconds(1), 4);
        String url = server.url(exec(List.of("cat"), false, true, true, false));
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("v4.channel.k8s.io"))) {
            c.open(Map.of("streamType", "error"));
            c.open(Map.of("streamType", "stdin"));
            c.open(Map.of("streamType", "stdout"));
            c.closed().get(10, TimeUnit.SECONDS);
        }
        waitFor(() -> runtime.sessions.size() == 1 && runtime.sessions.getFirst().closed, "session closed");
        var local = (FakeContainerStreams.Local) runtime.sessions.getFirst();
        assertTrue(local.process.waitFor(5, TimeUnit.SECONDS), "the exec'd process is gone");
    }

    @Test
    void aClientThatLeavesKillsItsExec() throws Exception {
        start();
        String url = server.url(exec(List.of("cat"), false, true, true, false));
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("v4.channel.k8s.io"))) {
            c.open(Map.of("streamType", "error"));
            var stdin = c.open(Map.of("streamType", "stdin"));
            var stdout = c.open(Map.of("streamType", "stdout"));
            stdin.write("x\n");
            waitFor(() -> stdout.soFar().equals("x\n"), "running");
        }
        waitFor(() -> runtime.sessions.getFirst().closed, "session closed");
        assertTrue(((FakeContainerStreams.Local) runtime.sessions.getFirst()).process.waitFor(5, TimeUnit.SECONDS));
    }

    @Test
    void streamsNotOpenedInTimeCloseTheConnectionWithoutStartingAnything() throws Exception {
        server = new StreamServer(new StreamServer.Settings("127.0.0.1", 0, Duration.ofMinutes(1), 4,
                Duration.ofMillis(500)), () -> runtime, new StreamTokens());
        server.start();
        String url = server.url(exec(List.of("true"), false, false, true, false));
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, "POST", List.of("v4.channel.k8s.io"))) {
            c.open(Map.of("streamType", "error"));
            c.closed().get(10, TimeUnit.SECONDS);
        }
        assertTrue(runtime.sessions.isEmpty());
    }

    static void echoOnce(ServerSocket server) {
        try (Socket s = server.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(new String(buf, 0, n).toUpperCase().getBytes());
                out.flush();
            }
        } catch (java.io.IOException e) {
            // test over
        }
    }

    static void waitFor(java.util.function.BooleanSupplier cond, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }
}
