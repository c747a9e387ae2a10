package dev.berth.server.streaming.transport;

import java.io.IOException;
import java.io.InputStream;

/**
 * Copies a blocking source (a process's stdout, a forwarded TCP connection) to the client, one
 * chunk at a time and only while the connection can take more: a client that stops reading stops
 * the copying, so at most about one chunk per stream waits beyond the connection's water mark.
 */
public final class OutboundPump {
    public static final int CHUNK = 32 * 1024;

    private OutboundPump() {}

    /** Starts copying on a virtual thread; at the source's end the stream is finished. */
    public static Thread start(String name, InputStream source, OutStream target) {
        return Thread.ofVirtual().name(name).start(() -> copy(source, target));
    }

    /** Copies until the source ends (then finishes the stream) or the connection closes. */
    public static long copy(InputStream source, OutStream target) {
        byte[] buf = new byte[CHUNK];
        long total = 0;
        try {
            while (target.connection().awaitWritable()) {
                int n = source.read(buf);
                if (n < 0) {
                    target.finish();
                    break;
                }
                target.write(buf, 0, n);
                total += n;
            }
        } catch (IOException e) {
            // Source closed under us (session ended): nothing more to copy.
            target.finish();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return total;
    }
}
