package dev.berth.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.berth.core.state.StateStore;
import dev.berth.image.content.BlobStore;
import dev.berth.image.testing.FakeRegistry;
import dev.berth.image.testing.TestImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ImageStatus and ListImages are answered on the transport's thread, so they take the image's user
 * from memory: the pull keeps what it parsed, and a restarted daemon reads every config once at
 * start. Proved by emptying the config blob after the fact: a status that read it would fail.
 */
class ImageStatusFromMemoryTest {
    @TempDir
    Path tmp;
    FakeRegistry registry;
    StateStore state;
    ImageManager images;
    TestImage img;
    String ref;

    @BeforeEach
    void start() throws Exception {
        registry = FakeRegistry.start();
        state = StateStore.open(tmp.resolve("state"));
        images = open();
        img = TestImage.of("sha256", "a");
        img.config = new String(img.config, StandardCharsets.UTF_8)
                .replace("\"config\":{}", "\"config\":{\"User\":\"1000:2000\"}").getBytes(StandardCharsets.UTF_8);
        img.configDigest = img.digest(img.config);
        img.configSize = img.config.length;
        img.buildManifest();
        img.pushTo(registry, "app", "1");
        ref = registry.host() + "/app:1";
    }

    @AfterEach
    void stop() {
        images.close();
        state.close();
        registry.close();
    }

    private ImageManager open() {
        return ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images")), state, null);
    }

    private void spoilConfigBlob() throws Exception {
        Path blob = new BlobStore(tmp.resolve("images").resolve("blobs")).path(img.configDigest);
        Files.writeString(blob, "not json");
    }

    @Test
    void afterAPullTheUserIsKnownWithoutReadingTheConfig() throws Exception {
        String id = images.pull(ref, null);
        spoilConfigBlob();
        assertEquals("1000:2000", images.status(ref).orElseThrow().user());
        assertEquals("1000:2000", images.list("").stream().filter(v -> v.id().equals(id)).findFirst().orElseThrow().user());
    }

    @Test
    void aRestartedStoreReadsEachConfigOnceAtStart() throws Exception {
        images.pull(ref, null);
        images.close();
        images = open();
        spoilConfigBlob();
        assertEquals("1000:2000", images.status(ref).orElseThrow().user());
    }
}
