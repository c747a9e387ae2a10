package dev.berth.image.ref;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import org.junit.jupiter.api.Test;

class ImageReferenceTest {
    private static final String D = "sha256:" + "a".repeat(64);

    @Test
    void shortNamesNormalizeLikeDocker() {
        assertEquals("docker.io/library/busybox:latest", ImageReference.parse("busybox").toString());
        assertEquals("docker.io/library/busybox:1.36", ImageReference.parse("busybox:1.36").toString());
        assertEquals("docker.io/foo/bar:latest", ImageReference.parse("foo/bar").toString());
        assertEquals("docker.io/library/busybox:1", ImageReference.parse("index.docker.io/library/busybox:1").toString());
        assertEquals("docker.io/library/busybox:1", ImageReference.parse("docker.io/busybox:1").toString());
    }

    @Test
    void registriesAreRecognizedByDotColonOrLocalhost() {
        ImageReference r = ImageReference.parse("127.0.0.1:5000/library/busybox:1.36");
        assertEquals("127.0.0.1:5000", r.domain());
        assertEquals("library/busybox", r.path());
        assertEquals("1.36", r.tag());
        assertEquals("localhost", ImageReference.parse("localhost/x").domain());
        assertEquals("registry.k8s.io", ImageReference.parse("registry.k8s.io/pause:3.9").domain());
        assertEquals("[::1]:5000", ImageReference.parse("[::1]:5000/a/b").domain());
    }

    @Test
    void digestsWinOverTags() {
        ImageReference r = ImageReference.parse("busybox:1.36@" + D);
        assertNull(r.tag());
        assertEquals(D, r.digest());
        assertEquals(D, r.manifestReference());
        assertEquals("docker.io/library/busybox@" + D, r.toString());
    }

    @Test
    void malformedReferencesAreRejectedWithReasons() {
        for (String bad : new String[] {"", " ", "UPPER", "a//b", "busybox:", "busybox@sha256:12", "bad tag",
                "busybox:-x", "a/-b", "host:port:x/y", "gvug.9est/x:1", "host.local:99999/x"}) {
            BerthException e = assertThrows(BerthException.class, () -> ImageReference.parse(bad), bad);
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
            assertFalse(e.getMessage().isBlank());
        }
    }

    @Test
    void imageIdsAreRecognized() {
        assertTrue(ImageReference.isImageId(D));
        assertTrue(ImageReference.isImageId("a".repeat(64)));
        assertFalse(ImageReference.isImageId("busybox"));
    }
}
