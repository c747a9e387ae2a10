package dev.berth.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
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
 * CreateContainer leases an image's layers from its lookup until the overlay is mounted: a
 * RemoveImage meanwhile waits for the lease (or fails with FAILED_PRECONDITION after a bound)
 * instead of deleting a lowerdir the container is about to mount.
 */
class ImageLeaseTest {
    @TempDir
    Path tmp;
    FakeRegistry registry;
    StateStore state;
    ImageManager images;
    String ref;

    @BeforeEach
    void start() throws Exception {
        registry = FakeRegistry.start();
        state = StateStore.open(tmp.resolve("state"));
        images = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images")), state, null);
        TestImage img = TestImage.of("sha256", "a", "b");
        img.pushTo(registry, "app", "1");
        ref = registry.host() + "/app:1";
        images.pull(ref, null);
    }

    @AfterEach
    void stop() {
        images.close();
        state.close();
        registry.close();
    }

    private static boolean allPresent(LocalImage image) {
        return image.lowerDirs().stream().allMatch(Files::isDirectory);
    }

    @Test
    void removeImageWaitsForTheLeaseAndKeepsTheLayersUntilThen() throws Exception {
        ImageLease lease = images.lease(ref).orElseThrow();
        LocalImage image = lease.image();
        assertEquals(2, image.lowerDirs().size());
        assertTrue(allPresent(image));
        CompletableFuture<Boolean> removal = CompletableFuture.supplyAsync(() -> images.remove(ref));
        Thread.sleep(500);
        assertFalse(removal.isDone(), "RemoveImage went ahead while a container being created held the image");
        assertTrue(allPresent(image), "a leased layer was deleted");
        images.collectGarbage();
        assertTrue(allPresent(image), "garbage collection deleted a leased layer");
        lease.close();
        assertTrue(removal.get(10, TimeUnit.SECONDS));
        assertTrue(images.find(ref).isEmpty());
        assertTrue(image.lowerDirs().stream().noneMatch(Files::exists), "the removed image's layers stay");
    }

    @Test
    void removeImageFailsWithFailedPreconditionWhenTheLeaseOutlastsItsWait() throws Exception {
        images.removeWait(Duration.ofMillis(300));
        try (ImageLease lease = images.lease(ref).orElseThrow()) {
            BerthException e = assertThrows(BerthException.class, () -> images.remove(ref));
            assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("in use by a container being created"), e.getMessage());
            assertTrue(allPresent(lease.image()));
            assertTrue(images.find(ref).isPresent(), "the image record went although removal failed");
        }
        assertTrue(images.remove(ref), "once the lease ends the image is removed");
    }

    @Test
    void aLeaseOfAnAbsentImageIsEmptyAndLeasesCloseOnce() throws Exception {
        assertTrue(images.lease(registry.host() + "/nothing:1").isEmpty());
        ImageLease lease = images.lease(ref).orElseThrow();
        ImageLease second = images.lease(ref).orElseThrow();
        lease.close();
        lease.close(); // a second close must not release the other holder's lease
        images.removeWait(Duration.ofMillis(200));
        assertThrows(BerthException.class, () -> images.remove(ref));
        second.close();
        assertTrue(images.remove(ref));
    }
}
