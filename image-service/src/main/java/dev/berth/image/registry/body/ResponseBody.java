package dev.berth.image.registry.body;

import dev.berth.image.content.ReadThroughFilterStream;
import dev.berth.image.registry.transport.HttpExchange;
import dev.berth.image.registry.transport.RegistryHttp;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * The body of a registry response. Its connection's reads wait at most the stall timeout for a
 * byte (the transport sets it and the exchange says which it set), so a registry that sends
 * headers and then stops cannot hang a pull (or every pull joined to it): the read fails with
 * {@link StalledException}. Every body berth reads from a registry or a token server (manifests,
 * configs, blobs, tokens, error bodies) comes through here.
 */
public final class ResponseBody extends ReadThroughFilterStream {
    private final String source;
    private final Duration stallTimeout;
    private final Runnable abort;
    private volatile boolean stalled;
    private boolean ended;

    /** @param source who sent it, for messages ("registry example.org") */
    public ResponseBody(HttpExchange exchange, String source) {
        super(exchange.body());
        this.source = source;
        this.stallTimeout = exchange.stallTimeout();
        this.abort = exchange.abort();
    }

    /** No byte arrived for the stall timeout. */
    public static final class StalledException extends IOException {
        StalledException(String message, Throwable cause) {
            super(message, cause);
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
        int n;
        try {
            n = in.read(b, off, len);
        } catch (SocketTimeoutException e) {
            stalled = true;
            throw new StalledException(source + " sent no data for " + RegistryHttp.describe(stallTimeout)
                    + "; the request was abandoned", e);
        }
        if (n < 0) {
            ended = true;
        }
        return n;
    }

    /** How long a read may wait for a byte before the body counts as stalled. */
    public Duration stallTimeout() {
        return stallTimeout;
    }

    /** Whether the body was abandoned for lack of progress (also when a reader above wrapped the failure). */
    public boolean stalled() {
        return stalled;
    }

    /**
     * A body read to its end gives its connection back for reuse; one left unread (an error body
     * read in part, a stalled or cancelled pull) drops it rather than wait for the rest.
     */
    @Override
    public void close() throws IOException {
        if (!ended) {
            abort.run();
        }
        in.close();
    }
}
