package dev.berth.image.registry.body;

import dev.berth.image.content.ReadThroughFilterStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;

/**
 * The body of a registry response, watched for progress: when no byte arrives for the stall
 * timeout the connection is closed and every read fails with {@link StalledException}. Every body
 * berth reads from a registry or a token server (manifests, configs, blobs, tokens, error bodies)
 * comes through here, so a registry that sends headers and then stalls cannot hang a pull.
 */
public final class ResponseBody extends ReadThroughFilterStream {
    private final String source;
    private final Duration stallTimeout;
    private final StallWatch watch;
    private volatile long lastProgress = System.nanoTime();

    public ResponseBody(InputStream in, String source, Duration stallTimeout) {
        super(in);
        this.source = source;
        this.stallTimeout = stallTimeout;
        this.watch = StallWatch.watch(in, () -> lastProgress, stallTimeout);
    }

    /** No byte arrived for the stall timeout. */
    public static final class StalledException extends IOException {
        StalledException(String message) {
            super(message);
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        checkStalled();
        int n;
        try {
            n = in.read(b, off, len);
        } catch (IOException e) {
            checkStalled();
            throw e;
        }
        if (n > 0) {
            lastProgress = System.nanoTime();
        } else if (n < 0) {
            checkStalled(); // a closed stream may look like an end
        }
        return n;
    }


    /** Whether the body was abandoned for lack of progress. */
    public boolean stalled() {
        return watch.fired();
    }

    private void checkStalled() throws StalledException {
        if (watch.fired()) {
            throw new StalledException(source + " sent no data for " + describe(stallTimeout)
                    + "; the request was abandoned");
        }
    }

    static String describe(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    @Override
    public void close() throws IOException {
        watch.close();
        in.close();
    }
}
