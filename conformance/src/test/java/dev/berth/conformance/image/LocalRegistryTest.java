package dev.berth.conformance.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The shared test registry and image builder work: what other tests rely on to pull anything. */
class LocalRegistryTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void pushedBusyboxIsServedByTagAndDigest() throws Exception {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (apt-get install docker-registry)");
        assumeTrue(TestImages.available(), "/bin/busybox is missing (apt-get install busybox-static)");
        try (LocalRegistry reg = LocalRegistry.start()) {
            TestImages.Pushed bb = TestImages.pushBusybox(reg, "library/busybox", "1.36");
            assertTrue(bb.reference().startsWith("127.0.0.1:"));
            HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + reg.host()
                    + "/v2/library/busybox/manifests/1.36")).header("Accept", bb.mediaType()).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, r.statusCode());
            assertEquals(bb.manifestDigest(), TestImages.sha256(r.body()));
            HttpResponse<Void> blob = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + reg.host()
                    + "/v2/library/busybox/blobs/" + bb.layerDigests().get(0))).method("HEAD",
                    HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
            assertEquals(200, blob.statusCode());
        }
    }

    @Test
    void basicAuthRegistryRejectsAnonymousReads() throws Exception {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (apt-get install docker-registry)");
        assumeTrue(TestImages.available(), "/bin/busybox is missing (apt-get install busybox-static)");
        try (LocalRegistry reg = LocalRegistry.startWithBasicAuth()) {
            TestImages.pushBusybox(reg, "library/busybox", "1.36");
            HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + reg.host()
                    + "/v2/library/busybox/manifests/1.36")).build(), HttpResponse.BodyHandlers.discarding());
            assertEquals(401, r.statusCode());
        }
    }

    @Test
    void tokenFrontChallengesWithBearer() throws Exception {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (apt-get install docker-registry)");
        try (LocalRegistry reg = LocalRegistry.startWithTokenAuth()) {
            HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + reg.host()
                    + "/v2/library/busybox/manifests/1.36")).build(), HttpResponse.BodyHandlers.discarding());
            assertEquals(401, r.statusCode());
            assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer realm="));
        }
    }
}
