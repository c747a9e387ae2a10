package dev.berth.conformance.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private instance of Debian's {@code docker-registry} (distribution 2.8) on a free 127.0.0.1 port,
 * with its own config and storage in a temp directory; plain HTTP, as loopback registries are.
 *
 * <pre>{@code
 * try (LocalRegistry reg = LocalRegistry.start()) {              // anonymous
 *     TestImages.Pushed img = TestImages.pushBusybox(reg, "library/busybox", "1.36");
 *     // pull img.reference() ("127.0.0.1:PORT/library/busybox:1.36")
 * }
 * LocalRegistry.startWithBasicAuth();   // htpasswd: USER / PASSWORD
 * LocalRegistry.startWithTokenAuth();   // bearer-token challenge flow, token server in this JVM
 * LocalRegistry.start(5000);            // a fixed port (containerd-ref's REF_REGISTRY default)
 * }</pre>
 *
 * <p>{@link #close()} stops the process by its PID and deletes the temp directory. Pushes always go to
 * the registry process itself ({@link #pushEndpoint()}), with credentials when it needs them; pulls
 * go to {@link #host()}, which is the token-auth front when that mode is on.
 */
public final class LocalRegistry implements AutoCloseable {
    public static final String BINARY = "/usr/bin/docker-registry";
    /** The one user of the basic-auth and token-auth modes. */
    public static final String USER = "berth";
    public static final String PASSWORD = "berth-secret";
    /** bcrypt of {@link #PASSWORD} (distribution's htpasswd only accepts bcrypt). */
    private static final String PASSWORD_BCRYPT = "$2b$05$l7xeikckb0hDuoRHilwS/OW1lfNq8bLCTA3Tj6d1/figlb6nOrlWO";

    public enum Auth { NONE, BASIC, TOKEN }

    private final Path dir;
    private final Process process;
    private final int port;
    private final Auth auth;
    private final TokenAuthFront tokenFront;

    private LocalRegistry(Path dir, Process process, int port, Auth auth, TokenAuthFront tokenFront) {
        this.dir = dir;
        this.process = process;
        this.port = port;
        this.auth = auth;
        this.tokenFront = tokenFront;
    }

    /** Whether docker-registry is installed; tests call {@code assumeTrue(LocalRegistry.available())}. */
    public static boolean available() {
        return Files.isExecutable(Path.of(BINARY));
    }

    public static LocalRegistry start() {
        return start(0, Auth.NONE);
    }

    public static LocalRegistry start(int port) {
        return start(port, Auth.NONE);
    }

    public static LocalRegistry startWithBasicAuth() {
        return start(0, Auth.BASIC);
    }

    public static LocalRegistry startWithTokenAuth() {
        return start(0, Auth.TOKEN);
    }

    /** Starts a registry on {@code port} (0: a free one) with the given auth mode; waits until it answers. */
    public static LocalRegistry start(int port, Auth auth) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("berth-registry-");
            int p = port == 0 ? freePort() : port;
            Path storage = Files.createDirectories(dir.resolve("storage"));
            StringBuilder cfg = new StringBuilder()
                    .append("version: 0.1\n")
                    .append("log:\n  level: warn\n  accesslog:\n    disabled: true\n")
                    .append("storage:\n  filesystem:\n    rootdirectory: ").append(storage).append('\n')
                    .append("  delete:\n    enabled: true\n")
                    .append("  maintenance:\n    uploadpurging:\n      enabled: false\n")
                    .append("http:\n  addr: 127.0.0.1:").append(p).append('\n')
                    .append("  secret: berth-test-secret\n");
            if (auth == Auth.BASIC) {
                Path htpasswd = dir.resolve("htpasswd");
                Files.writeString(htpasswd, USER + ":" + PASSWORD_BCRYPT + "\n");
                cfg.append("auth:\n  htpasswd:\n    realm: berth-test\n    path: ").append(htpasswd).append('\n');
            }
            Path config = dir.resolve("config.yml");
            Files.writeString(config, cfg.toString());
            Process proc = new ProcessBuilder(BINARY, "serve", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("registry.log").toFile())
                    .start();
            TokenAuthFront front = null;
            LocalRegistry reg = null;
            try {
                waitUntilServing(p, proc, dir);
                if (auth == Auth.TOKEN) {
                    front = TokenAuthFront.start("127.0.0.1:" + p, USER, PASSWORD);
                }
                reg = new LocalRegistry(dir, proc, p, auth, front);
                return reg;
            } finally {
                if (reg == null) {
                    proc.destroyForcibly();
                    if (front != null) {
                        front.close();
                    }
                }
            }
        } catch (IOException e) {
            deleteTree(dir);
            throw new UncheckedIOException("cannot start docker-registry", e);
        } catch (RuntimeException e) {
            deleteTree(dir);
            throw e;
        }
    }

    private static void waitUntilServing(int port, Process proc, Path dir) throws IOException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!proc.isAlive()) {
                throw new IOException("docker-registry exited with " + proc.exitValue() + ": "
                        + Files.readString(dir.resolve("registry.log")));
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/"))
                        .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200 || r.statusCode() == 401) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        throw new IOException("docker-registry did not answer on 127.0.0.1:" + port + " within 20 s");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** "127.0.0.1:PORT": where clients pull from (the token front in TOKEN mode). */
    public String host() {
        return tokenFront != null ? tokenFront.host() : "127.0.0.1:" + port;
    }

    /** "http://127.0.0.1:PORT" of the registry process itself, for pushes. */
    public String pushEndpoint() {
        return "http://127.0.0.1:" + port;
    }

    /** Authorization header value for pushes, or null when anonymous. */
    public String pushAuthorization() {
        return auth == Auth.BASIC
                ? "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8))
                : null;
    }

    public Auth auth() {
        return auth;
    }

    public int port() {
        return port;
    }

    /** How many token requests the token server answered (TOKEN mode). */
    public int tokensIssued() {
        return tokenFront == null ? 0 : tokenFront.tokensIssued();
    }

    /**
     * TOKEN mode: a fresh {bearer token, refresh token} pair, as a login tool would hold; for
     * AuthConfig.registry_token and AuthConfig.identity_token.
     */
    public String[] issueTokens() {
        if (tokenFront == null) {
            throw new IllegalStateException("not a token-auth registry");
        }
        return tokenFront.login();
    }

    /** The file where the registry keeps a blob (for corrupting it in a test). */
    public Path blobFile(String digest) {
        String hex = digest.substring(digest.indexOf(':') + 1);
        return dir.resolve("storage/docker/registry/v2/blobs/sha256").resolve(hex.substring(0, 2)).resolve(hex).resolve("data");
    }

    /** Flips bytes in the middle of a stored blob, keeping its size: the registry then serves wrong content. */
    public void corruptBlob(String digest) {
        Path f = blobFile(digest);
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            long pos = ch.size() / 2;
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16);
            ch.read(b, pos);
            b.flip();
            for (int i = 0; i < b.limit(); i++) {
                b.put(i, (byte) ~b.get(i));
            }
            ch.write(b, pos);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot corrupt " + f, e);
        }
    }

    @Override
    public void close() {
        if (tokenFront != null) {
            tokenFront.close();
        }
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deleteTree(dir);
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
