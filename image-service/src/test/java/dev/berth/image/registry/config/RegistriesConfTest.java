package dev.berth.image.registry.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.ref.ImageReference;
import dev.berth.image.registry.RegistryEndpoint;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class RegistriesConfTest {
    private static final String CONF = """
            unqualified-search-registries = ["docker.io"]

            [[registry]]
            location = "docker.io"
            [[registry.mirror]]
            location = "mirror.local:5000/hub"
            insecure = true
            [[registry.mirror]]
            location = "digest-mirror.local"
            pull-from-mirror = "digest-only"

            [[registry]]
            prefix = "example.com/team"
            location = "internal.example.com/mirrored/team"
            insecure = true

            [[registry]]
            location = "evil.example.org"
            blocked = true

            [[registry]]
            prefix = "*.corp.test"
            insecure = true
            """;

    private static List<RegistryEndpoint> sources(String ref) {
        return RegistriesConf.parse(CONF, "test").sourcesFor(ImageReference.parse(ref));
    }

    @Test
    void mirrorsComeFirstThenTheLocation() {
        List<RegistryEndpoint> s = sources("busybox:1.36");
        assertEquals(2, s.size(), s.toString());
        assertEquals(new RegistryEndpoint("mirror.local:5000", "hub/library/busybox", true, true), s.get(0));
        assertEquals(new RegistryEndpoint("docker.io", "library/busybox", false, false), s.get(1));
        assertEquals("https://registry-1.docker.io", s.get(1).baseUrl());
        List<RegistryEndpoint> byDigest = sources("busybox@sha256:" + "b".repeat(64));
        assertEquals(3, byDigest.size(), "digest-only mirror joins for digest pulls");
        assertEquals("digest-mirror.local", byDigest.get(1).host());
    }

    @Test
    void prefixesRewriteToTheirLocation() {
        List<RegistryEndpoint> s = sources("example.com/team/app:v1");
        assertEquals(List.of(new RegistryEndpoint("internal.example.com", "mirrored/team/app", true, false)), s);
        // a prefix matches whole components only
        assertEquals("example.com", sources("example.com/teammate/app:v1").getFirst().host());
    }

    @Test
    void wildcardAndLoopbackAreInsecure() {
        assertTrue(sources("reg.corp.test/a/b:1").getFirst().plainHttp());
        assertTrue(sources("127.0.0.1:5000/a:1").getFirst().plainHttp());
        assertTrue(sources("localhost:5000/a:1").getFirst().plainHttp());
        assertTrue(sources("[::1]:5000/a:1").getFirst().plainHttp());
        assertFalse(sources("quay.io/a/b:1").getFirst().plainHttp());
    }

    @Test
    void blockedRegistriesArePermissionDenied() {
        BerthException e = assertThrows(BerthException.class, () -> sources("evil.example.org/x/y:1"));
        assertEquals(ErrorKind.PERMISSION_DENIED, e.kind());
        assertTrue(e.getMessage().contains("blocked"), e.getMessage());
    }

    @Test
    void malformedFilesAreReportedAndMissingFilesAreEmpty() {
        BerthException e = assertThrows(BerthException.class, () -> RegistriesConf.parse("[[registry]\nlocation=", "bad.conf"));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains("bad.conf"));
        assertEquals(0, RegistriesConf.load(Path.of("/nonexistent/registries.conf")).registries().size());
    }

    @Test
    void locationsThatAreNoRegistryHostAreRefusedAtLoad() {
        for (String bad : new String[] {"http://mirror.local", "mirror .local", "mirror.local:99999", "a?b"}) {
            String conf = "[[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"" + bad + "\"\n";
            BerthException e = assertThrows(BerthException.class, () -> RegistriesConf.parse(conf, "r.conf"), bad);
            assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
            assertTrue(e.getMessage().contains("not host[:port][/path]") && e.getMessage().contains(bad), e.getMessage());
        }
    }

    /** Found by RegistriesConfFuzzTest: a name java.net.URI reads as no host passed the pattern. */
    @Test
    void aHostWhoseLastLabelStartsWithADigitIsRefusedAtLoad() {
        for (String bad : new String[] {"gvug.9est", "mirror.9x:5000/hub"}) {
            String conf = "[[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"" + bad + "\"\n";
            BerthException e = assertThrows(BerthException.class, () -> RegistriesConf.parse(conf, "r.conf"), bad);
            assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
            assertTrue(e.getMessage().contains("not a valid host name") && e.getMessage().contains(bad), e.getMessage());
        }
        // digits elsewhere, IP addresses and localhost stay valid
        for (String good : new String[] {"127.0.0.1:5000", "r2.example.com", "localhost:5000/x", "[::1]:5000"}) {
            String conf = "[[registry]]\nlocation = \"" + good + "\"\n";
            assertEquals(1, RegistriesConf.parse(conf, "r.conf").registries().size(), good);
        }
    }
}
