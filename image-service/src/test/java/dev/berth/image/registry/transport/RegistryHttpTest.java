package dev.berth.image.registry.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The transport against a raw socket server, where a test controls every byte: a server that never
 * answers, one that trickles its headers, and connection reuse after a body read to its end.
 */
class RegistryHttpTest {
    private final RegistryHttp http = RegistryHttp.plain(Duration.ofSeconds(5));
    private ServerSocket server;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();

    interface Conversation {
        void serve(BufferedReader in, OutputStream out) throws Exception;
    }

    private URI serve(Conversation c) throws IOException {
        server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    accepted.add(s);
                    connections.incrementAndGet();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            c.serve(new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1)),
                                    s.getOutputStream());
                        } catch (Exception e) {
                            // the client went away
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v2/");
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
        for (Socket s : accepted) {
            s.close();
        }
    }

    private static void readRequest(BufferedReader in) throws IOException {
        String line;
        while ((line = in.readLine()) != null && !line.isEmpty()) {
            // headers
        }
        if (line == null) {
            throw new IOException("closed");
        }
    }

    /** A request to {@code uri} fails with NoAnswerException saying {@code says}, between the two bounds. */
    private void noAnswerAfter(URI uri, Duration headerTimeout, Duration stallTimeout, String says, long minMs,
            long maxMs) {
        long t0 = System.nanoTime();
        RegistryHttp.NoAnswerException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(
                RegistryHttp.NoAnswerException.class, () -> http.send(uri, Map.of(), null, headerTimeout, stallTimeout)));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(e.getMessage().contains(says), e.getMessage());
        assertTrue(ms >= minMs && ms < maxMs, ms + " ms");
    }

    @Test
    void aServerThatNeverAnswersFailsAfterTheStallTimeout() throws Exception {
        URI uri = serve((in, out) -> {
            readRequest(in);
            Thread.sleep(60_000);
        });
        noAnswerAfter(uri, Duration.ofSeconds(30), Duration.ofMillis(700), "sent nothing for 700 ms", 650, 5000);
    }

    @Test
    void headersTrickledByteByByteFailAtTheHeaderDeadline() throws Exception {
        URI uri = serve((in, out) -> {
            readRequest(in);
            for (byte b : "HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".getBytes(StandardCharsets.ISO_8859_1)) {
                out.write(b);
                out.flush();
                Thread.sleep(100); // always under the stall timeout: only the deadline can end this
            }
        });
        noAnswerAfter(uri, Duration.ofSeconds(1), Duration.ofSeconds(2), "did not answer within 1 s", 950, 3000);
    }

    @Test
    void aBodyThatStallsFailsAfterTheStallTimeoutTheRequestSetAndSaysSo() throws Exception {
        URI uri = serve((in, out) -> {
            readRequest(in);
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            Thread.sleep(60_000);
        });
        HttpExchange r = http.send(uri, Map.of(), null, Duration.ofSeconds(5), Duration.ofMillis(600));
        assertEquals(Duration.ofMillis(600), r.stallTimeout());
        var body = new dev.berth.image.registry.body.ResponseBody(r, "test");
        long t0 = System.nanoTime();
        var e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(
                dev.berth.image.registry.body.ResponseBody.StalledException.class, body::readAllBytes));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(e.getMessage().contains("sent no data for 600 ms"), e.getMessage());
        assertTrue(ms >= 550 && ms < 5000, ms + " ms");
        assertTrue(body.stalled());
        body.close();
    }

    @Test
    void aBodyReadToItsEndKeepsItsConnectionAndOneClosedEarlyDropsIt() throws Exception {
        byte[] payload = new byte[200_000];
        new java.util.Random(7).nextBytes(payload);
        URI uri = serve((in, out) -> {
            while (true) {
                readRequest(in);
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + payload.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                out.write(payload);
                out.flush();
            }
        });
        for (int i = 0; i < 3; i++) {
            HttpExchange r = http.send(uri, Map.of("User-Agent", "test"), null, Duration.ofSeconds(5), Duration.ofSeconds(5));
            assertEquals(200, r.status());
            try (InputStream body = new dev.berth.image.registry.body.ResponseBody(r, "test")) {
                assertArrayEquals(payload, body.readAllBytes());
            }
        }
        assertEquals(1, connections.get(), "three bodies read to their end share one connection");

        HttpExchange r = http.send(uri, Map.of(), null, Duration.ofSeconds(5), Duration.ofSeconds(5));
        try (InputStream body = new dev.berth.image.registry.body.ResponseBody(r, "test")) {
            assertEquals(1000, body.readNBytes(1000).length);
        }
        HttpExchange next = http.send(uri, Map.of(), null, Duration.ofSeconds(5), Duration.ofSeconds(5));
        next.body().readAllBytes();
        next.body().close();
        assertEquals(2, connections.get(), "a body closed early is not left on a connection for the next request");
    }
}
