package dev.berth.image.registry.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A host's certs.d directory is looked at again only after CERTS_RECHECK, and a change is then picked up. */
class RegistryHttpCertsTest {
    static final URI REGISTRY = URI.create("https://registry.berth.test:5000/v2/app/blobs/sha256:00");

    @TempDir
    Path certs;

    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    private RegistryHttp http() {
        return new RegistryHttp(Duration.ofSeconds(5), EnvironmentProxy.from(Map.of()),
                new CertsDirectories(List.of(certs)), now::get);
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void aChangedDirectoryCountsOnlyAfterTheRecheckInterval() throws Exception {
        Path dir = Files.createDirectories(certs.resolve("registry.berth.test:5000"));
        RegistryHttp http = http();
        SSLSocketFactory first = http.tlsFor(REGISTRY).orElseThrow();
        Files.writeString(dir.resolve("notes.txt"), "a file the fingerprint sees");
        advance(RegistryHttp.CERTS_RECHECK.minusMillis(1));
        assertSame(first, http.tlsFor(REGISTRY).orElseThrow(), "within the interval: as last seen");
        advance(Duration.ofMillis(1));
        SSLSocketFactory second = http.tlsFor(REGISTRY).orElseThrow();
        assertNotSame(first, second, "after it: the changed directory is read again");
        advance(RegistryHttp.CERTS_RECHECK.multipliedBy(3));
        assertSame(second, http.tlsFor(REGISTRY).orElseThrow(), "unchanged: the same settings (and pooled connections)");
    }

    @Test
    void aDirectoryCreatedLaterIsFoundAfterTheRecheckInterval() throws Exception {
        RegistryHttp http = http();
        assertEquals(Optional.empty(), http.tlsFor(REGISTRY));
        Files.createDirectories(certs.resolve("registry.berth.test:5000"));
        assertEquals(Optional.empty(), http.tlsFor(REGISTRY), "within the interval: still none");
        advance(RegistryHttp.CERTS_RECHECK);
        assertTrue(http.tlsFor(REGISTRY).isPresent());
    }
}
