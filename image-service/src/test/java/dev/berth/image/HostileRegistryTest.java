package dev.berth.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.image.testing.FakeRegistry;
import dev.berth.image.testing.TestImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Registries that misbehave at every step of a pull: each gets a clear error, in bounded time and
 * memory. The stall timeout is short here (the daemon's is 60 s).
 */
class HostileRegistryTest {
    private static final Duration STALL = Duration.ofSeconds(2);
    private static final Duration BOUND = Duration.ofSeconds(20);

    @TempDir
    Path tmp;
    FakeRegistry registry;
    StateStore state;
    ImageManager images;

    @BeforeEach
    void start() throws Exception {
        registry = FakeRegistry.start();
        state = StateStore.open(tmp.resolve("state"));
        images = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images")).withStallTimeout(STALL), state,
                null);
    }

    @AfterEach
    void stop() {
        images.close();
        state.close();
        registry.close();
    }

    private String ref(String repoAndTag) {
        return registry.host() + "/" + repoAndTag;
    }

    private BerthException pullFails(String reference, RegistryCredentials creds) {
        return assertTimeoutPreemptively(BOUND, () -> assertThrows(BerthException.class, () -> images.pull(reference, creds)));
    }

    @Test
    void aConfigWithoutASizeIsRefusedUnread() throws Exception {
        TestImage img = TestImage.of("sha256", "a");
        img.configSize = -1;
        img.buildManifest();
        img.pushTo(registry, "app", "1");
        BerthException e = pullFails(ref("app:1"), null);
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("-1 bytes"), e.getMessage());
        assertTrue(registry.seen().stream().noneMatch(s -> s.path().contains(img.configDigest)));
    }

    @Test
    void aConfigLongerThanItsDescriptorIsCutOff() throws Exception {
        TestImage img = TestImage.of("sha256", "a");
        img.pushTo(registry, "app", "1");
        registry.override("/v2/app/blobs/" + img.configDigest, FakeRegistry.endless(200, null, null));
        BerthException e = pullFails(ref("app:1"), null);
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("longer than its declared size"), e.getMessage());
    }

    @Test
    void anEndlessManifestIsRefusedAtItsLimit() throws Exception {
        registry.override("/v2/app/manifests/1", FakeRegistry.endless(200, "Content-Type", TestImage.MANIFEST));
        BerthException e = pullFails(ref("app:1"), null);
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("4194304-byte limit"), e.getMessage());
    }

    @Test
    void aManifestThatStallsAfterItsHeadersFails() {
        registry.override("/v2/app/manifests/1", FakeRegistry.stallAfterHeaders(1000, 60_000));
        BerthException e = pullFails(ref("app:1"), null);
        assertEquals(ErrorKind.UNAVAILABLE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("sent no data for 2 s"), e.getMessage());
    }

    @Test
    void aConfigThatStallsFails() throws Exception {
        TestImage img = TestImage.of("sha256", "a");
        img.pushTo(registry, "app", "1");
        registry.override("/v2/app/blobs/" + img.configDigest, FakeRegistry.stallAfterHeaders(img.configSize, 60_000));
        BerthException e = pullFails(ref("app:1"), null);
        assertEquals(ErrorKind.UNAVAILABLE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("sent no data"), e.getMessage());
    }

    private void bearerChallenge() {
        registry.gate(ex -> {
            if (ex.getRequestHeaders().getFirst("Authorization") == null && !ex.getRequestURI().getPath().equals("/token")) {
                ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"http://" + registry.host()
                        + "/token\",service=\"test\"");
                FakeRegistry.send(ex, 401, "application/json", "{}".getBytes());
            }
        });
    }

    @Test
    void aTokenServerThatStallsFails() {
        bearerChallenge();
        registry.override("/token", FakeRegistry.stallAfterHeaders(100, 60_000));
        BerthException e = pullFails(ref("app:1"), null);
        assertEquals(ErrorKind.UNAVAILABLE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("sent no data"), e.getMessage());
    }

    /**
     * An identity token (docker's OAuth2 refresh token) is exchanged by a form POST; the token
     * server's 401 for a revoked one is an answer to report, not a transport failure.
     */
    @Test
    void anIdentityTokenIsPostedAndARejectedOneIsUnauthenticated() throws Exception {
        TestImage img = TestImage.of("sha256", "a");
        img.pushTo(registry, "app", "1");
        bearerChallenge();
        java.util.List<String> forms = new java.util.concurrent.CopyOnWriteArrayList<>();
        registry.override("/token", ex -> {
            String form = new String(ex.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            forms.add(ex.getRequestMethod() + " " + ex.getRequestHeaders().getFirst("Content-Type") + " " + form);
            boolean good = form.contains("grant_type=refresh_token") && form.contains("refresh_token=good");
            FakeRegistry.send(ex, good ? 200 : 401, "application/json",
                    (good ? "{\"token\":\"t1\"}" : "{}").getBytes());
        });
        String id = assertTimeoutPreemptively(BOUND,
                () -> images.pull(ref("app:1"), new RegistryCredentials("", "", "", "good", "")));
        assertEquals(img.configDigest, id);
        assertTrue(forms.getFirst().startsWith("POST application/x-www-form-urlencoded "), forms.toString());

        images.remove(id);
        BerthException e = pullFails(ref("app:1"), new RegistryCredentials("", "", "", "revoked", ""));
        assertEquals(ErrorKind.UNAUTHENTICATED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("rejected the given credentials (HTTP 401)"), e.getMessage());
    }

    @Test
    void anEndlessTokenResponseIsRefusedAtItsLimit() {
        bearerChallenge();
        registry.override("/token", FakeRegistry.endless(200, "Content-Type", "application/json"));
        BerthException e = pullFails(ref("app:1"), null);
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("1048576-byte limit"), e.getMessage());
    }

    @Test
    void anEndlessChallengeBodyIsNotReadToItsEnd() throws Exception {
        TestImage img = TestImage.of("sha256", "a");
        img.pushTo(registry, "app", "1");
        registry.gate(ex -> {
            if (ex.getRequestHeaders().getFirst("Authorization") == null) {
                FakeRegistry.endless(401, "WWW-Authenticate", "Basic realm=\"test\"").handle(ex);
            }
        });
        String id = assertTimeoutPreemptively(BOUND,
                () -> images.pull(ref("app:1"), new RegistryCredentials("u", "p", "", "", "")));
        assertEquals(img.configDigest, id);
    }

    @Test
    void anEndlessRedirectBodyIsNotReadToItsEnd() throws Exception {
        TestImage img = TestImage.of("sha256", "a");
        img.pushTo(registry, "app", "1");
        registry.override("/v2/app/manifests/1", FakeRegistry.endless(307, "Location", "/v2/app/manifests/"
                + img.manifestDigest));
        assertEquals(img.configDigest, assertTimeoutPreemptively(BOUND, () -> images.pull(ref("app:1"), null)));
    }

    @Test
    void sha512ContentIsVerified() throws Exception {
        TestImage img = TestImage.of("sha512", "a", "b");
        img.pushTo(registry, "app", "1");
        byte[] index = img.index();
        String indexDigest = img.digest(index);
        registry.putManifest("app", indexDigest, TestImage.INDEX, index);
        String id = images.pull(ref("app@" + indexDigest), null);
        assertEquals(img.configDigest, id);
        assertTrue(images.find(id).orElseThrow().lowerDirs().stream().allMatch(Files::isDirectory));

        // The same digests, other bytes: every sha512 check must catch it.
        TestImage other = TestImage.of("sha512", "evil");
        registry.putManifest("bad", indexDigest, TestImage.INDEX, other.index());
        BerthException e = pullFails(ref("bad@" + indexDigest), null);
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("digest"), e.getMessage());

        registry.putManifest("tampered", img.manifestDigest, TestImage.MANIFEST, other.manifest);
        registry.putManifest("tampered", indexDigest, TestImage.INDEX, index);
        e = pullFails(ref("tampered@" + indexDigest), null);
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
    }

    @Test
    void aTamperedSha512LayerIsNotStored() throws Exception {
        TestImage img = TestImage.of("sha512", "a");
        img.pushTo(registry, "app", "1");
        registry.putBlob(img.layerDigests.getFirst(), TestImage.of("sha512", "b").layers.getFirst());
        BerthException e = pullFails(ref("app:1"), null);
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
        assertTrue(images.list("").isEmpty());
    }

    @Test
    void anUnknownDigestAlgorithmIsAnInvalidArgument() {
        BerthException e = assertThrows(BerthException.class, () -> images.pull(ref("app@md5:0123456789abcdef"), null));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("unsupported algorithm md5"), e.getMessage());
    }

    @Test
    void aCancelledPullStops() throws Exception {
        registry.override("/v2/app/manifests/1", FakeRegistry.stallAfterHeaders(1000, 60_000));
        ImageManager patient = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("patient"))
                .withStallTimeout(Duration.ofMinutes(5)), state, null);
        try {
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread puller = Thread.ofVirtual().start(() -> {
                try {
                    patient.pull(ref("app:1"), null);
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            });
            Thread.sleep(500);
            puller.interrupt();
            Throwable t = outcome.get(10, TimeUnit.SECONDS);
            BerthException e = assertThrows(BerthException.class, () -> {
                throw t;
            });
            assertTrue(e.getMessage().contains("cancelled"), e.getMessage());
        } finally {
            patient.close();
        }
    }
}
