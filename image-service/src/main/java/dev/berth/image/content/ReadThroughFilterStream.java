package dev.berth.image.content;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A filter stream whose {@code skip} reads the skipped bytes through {@link #read(byte[], int, int)}
 * instead of passing it to the wrapped stream (FilterInputStream's default), so a subclass that
 * hashes, counts or watches what goes by sees every byte, skipped or not.
 */
public abstract class ReadThroughFilterStream extends FilterInputStream {
    protected ReadThroughFilterStream(InputStream in) {
        super(in);
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[8192];
        long left = n;
        while (left > 0) {
            int r = read(buf, 0, (int) Math.min(buf.length, left));
            if (r < 0) {
                break;
            }
            left -= r;
        }
        return n - left;
    }
}
