package dev.berth.image.registry.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.registry.RegistryCaller;
import dev.berth.image.registry.RegistryEndpoint;
import dev.berth.image.registry.auth.RegistryCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, point 7: a loopback docker-registry behind a self-signed CA that requires a client
 * certificate, reached through certs.d, and through a loopback forward proxy (HTTPS_PROXY) that
 * alone can resolve the registry's name. Certificates are made in the test with the openssl CLI.
 */
class RegistryTransportTest {
    static final String NAME = "registry.berth.test";
    static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
    static Path dir;
    static Path certs;
    static int port;
    static Process registry;
    static String manifest;

    @BeforeAll
    static void startRegistry() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/docker-registry")) && Files.isExecutable(Path.of("/usr/bin/openssl")),
                "needs docker-registry and openssl");
        dir = Files.createTempDirectory("berth-tls-registry-");
        Path pki = Files.createDirectories(dir.resolve("pki"));
        openssl(pki, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", "/CN=berth test CA");
        openssl(pki, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                "-subj", "/CN=" + NAME);
        Files.writeString(pki.resolve("san.ext"), "subjectAltName=DNS:" + NAME + ",IP:127.0.0.1\n");
        openssl(pki, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.crt", "-days", "2", "-extfile", "san.ext");
        openssl(pki, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
                "-subj", "/CN=berth node");
        openssl(pki, "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "client.cert", "-days", "2");
        // the same key in PKCS#1 ("BEGIN RSA PRIVATE KEY"), as many registries' docs produce it
        openssl(pki, "rsa", "-in", "client.key", "-traditional", "-out", "client-rsa.key");

        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Files.writeString(dir.resolve("config.yml"), """
                version: 0.1
                log:
                  level: error
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                  tls:
                    certificate: %s
                    key: %s
                    clientcas:
                      - %s
                """.formatted(dir.resolve("data"), port, pki.resolve("server.crt"), pki.resolve("server.key"),
                pki.resolve("ca.crt")));
        registry = new ProcessBuilder("/usr/bin/docker-registry", "serve", dir.resolve("config.yml").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();

        // certs.d as an operator lays it out, for the address and for the name
        certs = dir.resolve("certs.d");
        for (String host : List.of("127.0.0.1:" + port, NAME + ":" + port)) {
            Path d = Files.createDirectories(certs.resolve(host));
            Files.copy(pki.resolve("ca.crt"), d.resolve("ca.crt"));
            Files.copy(pki.resolve("client.cert"), d.resolve("client.cert"));
            Files.copy(pki.resolve("client.key"), d.resolve("client.key"));
        }
        manifest = push(java.net.http.HttpClient.newBuilder()
                .sslContext(CertsDirectories.sslContext(certs.resolve("127.0.0.1:" + port))).build());
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.destroy();
            registry.waitFor(10, TimeUnit.SECONDS);
        }
        if (dir != null) {
            new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor();
        }
    }

    static void openssl(Path cwd, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + ": " + out);
    }

    /** Pushes a one-blob image "test/app:v1" (the registry takes a moment to start: retried). */
    static String push(java.net.http.HttpClient http) throws Exception {
        String base = "https://127.0.0.1:" + port + "/v2/test/app/";
        byte[] config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
                .getBytes(StandardCharsets.UTF_8);
        String digest = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(config));
        HttpResponse<String> start = null;
        for (int i = 0; i < 100; i++) {
            try {
                start = send(http, HttpRequest.newBuilder(URI.create(base + "blobs/uploads/"))
                        .POST(HttpRequest.BodyPublishers.noBody()));
                break;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        assertEquals(202, start.statusCode(), start.body());
        String location = start.headers().firstValue("Location").orElseThrow();
        URI put = URI.create(base).resolve(location + (location.contains("?") ? "&" : "?") + "digest=" + digest);
        assertEquals(201, send(http, HttpRequest.newBuilder(put).PUT(HttpRequest.BodyPublishers.ofByteArray(config)))
                .statusCode());
        String m = "{\"schemaVersion\":2,\"mediaType\":\"" + MANIFEST_TYPE + "\",\"config\":{\"mediaType\":"
                + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + digest + "\",\"size\":" + config.length
                + "},\"layers\":[]}";
        assertEquals(201, send(http, HttpRequest.newBuilder(URI.create(base + "manifests/v1"))
                .header("Content-Type", MANIFEST_TYPE).PUT(HttpRequest.BodyPublishers.ofString(m))).statusCode());
        return m;
    }

    static HttpResponse<String> send(java.net.http.HttpClient http, HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String getManifest(RegistryHttp http, String host) throws IOException {
        RegistryCaller caller = new RegistryCaller(http, Duration.ofSeconds(10), Duration.ofSeconds(10));
        try {
            return getManifest(caller, host);
        } finally {
            caller.close(); // also forgets the transport's TLS settings
        }
    }

    static String getManifest(RegistryCaller caller, String host) throws IOException {
        try (var r = caller.get(new RegistryEndpoint(host, "test/app", false, false), "manifests/v1",
                List.of(MANIFEST_TYPE), RegistryCredentials.NONE, "pull test/app:v1").body()) {
            return new String(r.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void certsDirectoryCaAndClientCertificateReachTheRegistry() throws Exception {
        RegistryHttp http = new RegistryHttp(Duration.ofSeconds(5), EnvironmentProxy.from(Map.of()),
                new CertsDirectories(List.of(dir.resolve("berth-certs.d"), certs)));
        assertEquals(manifest, getManifest(http, "127.0.0.1:" + port));
    }

    @Test
    void aPkcs1ClientKeyWorksToo() throws Exception {
        Path alt = dir.resolve("certs-pkcs1.d").resolve("127.0.0.1:" + port);
        Files.createDirectories(alt);
        Files.copy(dir.resolve("pki/ca.crt"), alt.resolve("ca.crt"));
        Files.copy(dir.resolve("pki/client.cert"), alt.resolve("client.cert"));
        Files.copy(dir.resolve("pki/client-rsa.key"), alt.resolve("client.key"));
        assertTrue(Files.readString(alt.resolve("client.key")).contains("BEGIN RSA PRIVATE KEY"));
        RegistryHttp http = new RegistryHttp(Duration.ofSeconds(5), EnvironmentProxy.from(Map.of()),
                new CertsDirectories(List.of(alt.getParent())));
        assertEquals(manifest, getManifest(http, "127.0.0.1:" + port));
    }

    @Test
    void withoutTheCaOrWithoutTheClientCertificateTheRegistryIsNotReached() throws Exception {
        BerthException noCa = assertThrows(BerthException.class, () -> getManifest(RegistryHttp.plain(
                Duration.ofSeconds(5)), "127.0.0.1:" + port));
        assertEquals(ErrorKind.UNAVAILABLE, noCa.kind(), noCa.getMessage());
        Path caOnlyDir = dir.resolve("ca-only.d").resolve("127.0.0.1:" + port);
        Files.createDirectories(caOnlyDir);
        Files.copy(dir.resolve("pki/ca.crt"), caOnlyDir.resolve("ca.crt"));
        java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong();
        RegistryCaller caOnly = new RegistryCaller(new RegistryHttp(Duration.ofSeconds(5),
                EnvironmentProxy.from(Map.of()), new CertsDirectories(List.of(caOnlyDir.getParent())), clock::get),
                Duration.ofSeconds(10), Duration.ofSeconds(10));
        try {
            BerthException noClient = assertThrows(BerthException.class, () -> getManifest(caOnly,
                    "127.0.0.1:" + port));
            assertEquals(ErrorKind.UNAVAILABLE, noClient.kind(), noClient.getMessage());
            // the client certificate dropped in later is used without a restart, once the directory
            // is looked at again (CERTS_RECHECK after the last look)
            Files.copy(dir.resolve("pki/client.cert"), caOnlyDir.resolve("client.cert"));
            Files.copy(dir.resolve("pki/client.key"), caOnlyDir.resolve("client.key"));
            assertThrows(BerthException.class, () -> getManifest(caOnly, "127.0.0.1:" + port),
                    "within the interval the settings last seen hold");
            clock.addAndGet(RegistryHttp.CERTS_RECHECK.toNanos());
            assertEquals(manifest, getManifest(caOnly, "127.0.0.1:" + port));
        } finally {
            caOnly.close();
        }
    }

    @Test
    void throughAForwardProxyThatAloneResolvesTheRegistrysName() throws Exception {
        try (ConnectProxy proxy = new ConnectProxy(Map.of(NAME, "127.0.0.1"))) {
            RegistryHttp http = new RegistryHttp(Duration.ofSeconds(5), EnvironmentProxy.from(Map.of(
                    "HTTPS_PROXY", "http://127.0.0.1:" + proxy.port(), "NO_PROXY", "example.org")),
                    new CertsDirectories(List.of(certs)));
            assertEquals(manifest, getManifest(http, NAME + ":" + port));
            assertEquals(List.of(NAME + ":" + port), proxy.targets.stream().distinct().toList());

            // NO_PROXY names it: direct, where the name does not resolve
            RegistryHttp direct = new RegistryHttp(Duration.ofSeconds(5), EnvironmentProxy.from(Map.of(
                    "https_proxy", "127.0.0.1:" + proxy.port(), "no_proxy", ".berth.test")),
                    new CertsDirectories(List.of(certs)));
            int before = proxy.targets.size();
            BerthException e = assertThrows(BerthException.class, () -> getManifest(direct, NAME + ":" + port));
            assertEquals(ErrorKind.UNAVAILABLE, e.kind());
            assertEquals(before, proxy.targets.size(), "NO_PROXY was not honoured");
        }
    }

    @Test
    void noProxyRules() {
        EnvironmentProxy p = EnvironmentProxy.from(Map.of("HTTPS_PROXY", "proxy:3128",
                "NO_PROXY", "internal.corp, .svc,10.0.0.0/8,registry.local:5001"));
        assertTrue(p.bypass("internal.corp", 443));
        assertTrue(p.bypass("a.internal.corp", 443));
        assertFalse(p.bypass("notinternal.corp", 443));
        assertTrue(p.bypass("kube-dns.svc", 443));
        assertTrue(p.bypass("10.3.4.5", 443));
        assertFalse(p.bypass("11.3.4.5", 443));
        assertTrue(p.bypass("registry.local", 5001));
        assertFalse(p.bypass("registry.local", 5000));
        assertTrue(p.bypass("localhost", 5000));
        assertTrue(p.bypass("127.0.0.1", 5000));
        assertFalse(p.bypass("docker.io", 443));
        assertEquals(List.of(java.net.Proxy.NO_PROXY), p.select(URI.create("http://docker.io/v2/")),
                "no HTTP_PROXY: plain http goes direct");
        assertEquals(java.net.Proxy.Type.HTTP, p.select(URI.create("https://docker.io/v2/")).get(0).type());
    }

    /** A forward proxy for CONNECT only, resolving names from its own table; records each target. */
    static final class ConnectProxy implements AutoCloseable {
        final ServerSocket server;
        final Map<String, String> hosts;
        final List<String> targets = new CopyOnWriteArrayList<>();

        ConnectProxy(Map<String, String> hosts) throws IOException {
            this.hosts = hosts;
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(this::acceptLoop);
        }

        int port() {
            return server.getLocalPort();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket c = server.accept();
                    Thread.ofVirtual().start(() -> serve(c));
                } catch (IOException closed) {
                    return;
                }
            }
        }

        private void serve(Socket client) {
            try (client) {
                InputStream in = client.getInputStream();
                String request = readHead(in);
                String[] first = request.split("\r\n")[0].split(" ");
                OutputStream out = client.getOutputStream();
                if (!first[0].equals("CONNECT")) {
                    out.write("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n".getBytes());
                    return;
                }
                targets.add(first[1]);
                int colon = first[1].lastIndexOf(':');
                String host = hosts.getOrDefault(first[1].substring(0, colon), first[1].substring(0, colon));
                try (Socket upstream = new Socket()) {
                    upstream.connect(new InetSocketAddress(host, Integer.parseInt(first[1].substring(colon + 1))), 5000);
                    out.write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes());
                    out.flush();
                    Thread back = Thread.ofVirtual().start(() -> pipe(upstream, client));
                    pipe(client, upstream);
                    back.join(5000);
                }
            } catch (IOException | InterruptedException | RuntimeException e) {
                // connection over
            }
        }

        private static String readHead(InputStream in) throws IOException {
            StringBuilder b = new StringBuilder();
            while (!b.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) {
                    throw new IOException("client went away");
                }
                b.append((char) c);
            }
            return b.toString();
        }

        private static void pipe(Socket from, Socket to) {
            try {
                from.getInputStream().transferTo(to.getOutputStream());
                to.shutdownOutput();
            } catch (IOException done) {
                // one side closed
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
