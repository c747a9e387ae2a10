package dev.berth.server.streaming.transport;

/**
 * One stream from the server to the client (stdout, stderr, error, a port-forward's data): SPDY
 * data frames on one stream id, or WebSocket messages with one channel byte. Callable from any
 * thread; bytes are copied, so the caller may reuse its buffer.
 */
public interface OutStream {
    void write(byte[] bytes, int offset, int length);

    default void write(byte[] bytes) {
        write(bytes, 0, bytes.length);
    }

    /** No more data from the server on this stream (SPDY FIN; nothing to send on WebSocket). */
    void finish();

    /** Aborts the stream both ways (SPDY RST_STREAM). */
    void reset();

    StreamConnection connection();
}
