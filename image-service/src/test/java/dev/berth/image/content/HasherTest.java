package dev.berth.image.content;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HasherTest {
    @Test
    void nativeAndJdkHashesAgree() {
        byte[] data = new byte[3_000_001];
        new SplittableRandom(5).nextBytes(data);
        String expected = Digests.sha256(data);
        Hasher h = Hasher.forDigest(expected);
        for (int off = 0; off < data.length; off += 65_537) {
            h.update(data, off, Math.min(65_537, data.length - off));
        }
        assertEquals(expected, h.digest());
        assertEquals(Digests.sha256(new byte[0]), Hasher.forDigest(expected).digest());
    }

    @Test
    void verifyingStreamChecksDigestAndSize() throws IOException {
        byte[] data = "hello layer".getBytes();
        String d = Digests.sha256(data);
        VerifyingInputStream ok = new VerifyingInputStream(new ByteArrayInputStream(data), d, data.length);
        ok.drain();
        assertNull(ok.mismatch());
        VerifyingInputStream wrongSize = new VerifyingInputStream(new ByteArrayInputStream(data), d, data.length + 1);
        wrongSize.drain();
        assertTrue(wrongSize.mismatch().contains("bytes"));
        VerifyingInputStream tooLong = new VerifyingInputStream(new ByteArrayInputStream(data), d, 3);
        assertThrows(VerifyingInputStream.SizeExceededException.class, tooLong::drain);
        VerifyingInputStream wrongDigest = new VerifyingInputStream(new ByteArrayInputStream(data),
                "sha256:" + "0".repeat(64), data.length);
        wrongDigest.drain();
        assertTrue(wrongDigest.mismatch().contains("expected digest"));
    }
}
