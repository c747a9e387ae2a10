package dev.berth.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.state.StateStore;
import dev.berth.image.ref.ImageReference;
import dev.berth.image.registry.CredentialScope;
import dev.berth.image.registry.RegistryEndpoint;
import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.image.testing.FakeRegistry;
import dev.berth.image.testing.TestImage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Credentials go only to the registry they name, never in clear text over the network. */
class CredentialsTest {
    private static final RegistryCredentials ALICE = new RegistryCredentials("alice", "secret", "", "", "");

    @TempDir
    Path tmp;

    @Test
    void aMirrorOnAnotherHostGetsNoCredentials() throws Exception {
        try (FakeRegistry primary = FakeRegistry.start(); FakeRegistry mirror = FakeRegistry.start();
                StateStore state = StateStore.open(tmp.resolve("state"))) {
            TestImage img = TestImage.of("sha256", "a");
            img.pushTo(primary, "app", "1");
            img.pushTo(mirror, "app", "1");
            for (FakeRegistry r : new FakeRegistry[] {primary, mirror}) {
                r.gate(ex -> {
                    if (ex.getRequestHeaders().getFirst("Authorization") == null) {
                        ex.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"test\"");
                        FakeRegistry.send(ex, 401, "application/json", "{}".getBytes());
                    }
                });
            }
            Path conf = Files.writeString(tmp.resolve("registries.conf"), "[[registry]]\nlocation = \"" + primary.host()
                    + "\"\n[[registry.mirror]]\nlocation = \"" + mirror.host() + "\"\ninsecure = true\n");
            try (ImageManager images = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images"))
                    .withRegistriesConf(conf), state, null)) {
                assertEquals(img.configDigest, images.pull(primary.host() + "/app:1", ALICE));
            }
            assertFalse(mirror.seen().isEmpty(), "the mirror was tried first");
            assertTrue(mirror.seen().stream().allMatch(s -> s.authorization().isEmpty()), mirror.seen().toString());
            assertTrue(primary.seen().stream().anyMatch(s -> s.authorization().startsWith("Basic ")));
        }
    }

    @Test
    void serverAddressNamesTheOneHost() {
        ImageReference ref = ImageReference.parse("registry.example.com/app:1");
        RegistryEndpoint primary = new RegistryEndpoint("registry.example.com", "app", false, false);
        RegistryEndpoint mirror = new RegistryEndpoint("mirror.example.com", "app", false, true);
        assertEquals(ALICE, CredentialScope.forEndpoint(ALICE, primary, ref));
        assertEquals(RegistryCredentials.NONE, CredentialScope.forEndpoint(ALICE, mirror, ref));

        RegistryCredentials forMirror = new RegistryCredentials("alice", "secret", "", "", "", "https://mirror.example.com/v2/");
        assertEquals(forMirror, CredentialScope.forEndpoint(forMirror, mirror, ref));
        assertEquals(RegistryCredentials.NONE, CredentialScope.forEndpoint(forMirror, primary, ref));

        RegistryCredentials hub = new RegistryCredentials("alice", "secret", "", "", "", "https://index.docker.io/v1/");
        assertEquals(hub, CredentialScope.forEndpoint(hub, new RegistryEndpoint("docker.io", "library/busybox", false, false),
                ImageReference.parse("busybox")));
    }

    @Test
    void plainHttpOffThisNodeGetsNoCredentials() {
        ImageReference ref = ImageReference.parse("registry.example.com/app:1");
        RegistryEndpoint insecure = new RegistryEndpoint("registry.example.com", "app", true, false);
        assertEquals(RegistryCredentials.NONE, CredentialScope.forEndpoint(ALICE, insecure, ref));
        ImageReference local = ImageReference.parse("127.0.0.1:5001/app:1");
        RegistryEndpoint loopback = new RegistryEndpoint("127.0.0.1:5001", "app", true, false);
        assertEquals(ALICE, CredentialScope.forEndpoint(ALICE, loopback, local));
    }

    /** Found by CriRequestFuzzTest: a registry_token with a non-ASCII character was INTERNAL deep in the pull. */
    @Test
    void aRegistryTokenAHeaderCannotCarryIsInvalid() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.berth.core.error.BerthException.class,
                () -> new RegistryCredentials("", "", "", "", "YUJ3{H9;neo!t\u1be5\"/"));
        assertEquals(dev.berth.core.error.ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("registry_token"), e.getMessage());
        for (String bad : new String[] {"a b", "a\nAuthorization: x", "\0"}) {
            assertFalse(RegistryCredentials.headerSafe(bad), bad);
        }
        assertTrue(RegistryCredentials.headerSafe("eyJhbGciOi.J9-_~+/=="));
    }
}
