package dev.berth.image.content;

import java.io.IOException;
import java.io.InputStream;

/**
 * Hashes and counts what passes through, and refuses to read more than the expected size (a
 * registry cannot make berth read an endless stream). {@link #verify} compares at the end.
 */
public final class VerifyingInputStream extends ReadThroughFilterStream {
    private final String expectedDigest;
    private final long expectedSize;
    private final Hasher digest;
    private String actual;
    private long count;
    private volatile long lastProgress = System.nanoTime();

    /** {@code expectedSize} < 0: no size known (only the digest is checked). */
    public VerifyingInputStream(InputStream in, String expectedDigest, long expectedSize) {
        super(in);
        this.expectedDigest = expectedDigest;
        this.expectedSize = expectedSize;
        this.digest = Hasher.forDigest(expectedDigest);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
            lastProgress = System.nanoTime();
            digest.update(b, off, n);
            count += n;
            if (expectedSize >= 0 && count > expectedSize) {
                throw new SizeExceededException(expectedDigest, expectedSize);
            }
        }
        return n;
    }


    @Override
    public boolean markSupported() {
        return false;
    }

    /** Reads the rest of the stream so the digest covers all of it. */
    public void drain() throws IOException {
        byte[] buf = new byte[1 << 16];
        while (read(buf, 0, buf.length) >= 0) {
            // hashing happens in read
        }
    }

    /** System.nanoTime() of the last read that returned data (or of creation). */
    public long lastProgressNanos() {
        return lastProgress;
    }

    public long count() {
        return count;
    }

    /** The digest of everything read so far; reading further afterwards is an error. */
    public String actualDigest() {
        if (actual == null) {
            actual = digest.digest();
        }
        return actual;
    }

    /** Null when size and digest match; otherwise what differs, for an error message. Call at EOF. */
    public String mismatch() {
        String actual = actualDigest();
        if (expectedSize >= 0 && count != expectedSize) {
            return "expected " + expectedSize + " bytes, got " + count + " (digest " + actual + ")";
        }
        if (!actual.equals(expectedDigest)) {
            return "expected digest " + expectedDigest + ", got " + actual;
        }
        return null;
    }

    /** More bytes than the descriptor's size. */
    public static final class SizeExceededException extends IOException {
        SizeExceededException(String digest, long size) {
            super("blob " + digest + " is longer than its declared size of " + size + " bytes");
        }
    }
}
