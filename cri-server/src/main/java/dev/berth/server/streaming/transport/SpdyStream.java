package dev.berth.server.streaming.transport;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One SPDY stream the client opened (SYN_STREAM), with the headers that say what it is for
 * ({@code streamtype}, {@code port}, {@code requestid}). The server writes data frames on it and
 * finishes it with FIN; what the client sends goes to its {@link InSink}.
 */
public final class SpdyStream implements OutStream {
    private final int id;
    private final Map<String, String> headers;
    private final StreamConnection connection;
    private final AtomicBoolean localClosed = new AtomicBoolean();
    private volatile InSink sink = InSink.DISCARD;
    private volatile Runnable onReset = () -> {};
    /** Event loop only. */
    boolean remoteClosed;

    SpdyStream(int id, Map<String, String> headers, StreamConnection connection) {
        this.id = id;
        this.headers = headers;
        this.connection = connection;
    }

    public int id() {
        return id;
    }

    /** A header by its lowercase name (SPDY/3 header names are lowercase); null when absent. */
    public String header(String name) {
        return headers.get(name);
    }

    /** Where the client's data on this stream goes; set before the stream's reply is sent. */
    public void setSink(InSink sink) {
        this.sink = sink;
    }

    InSink sink() {
        return sink;
    }

    /** Runs when the client resets the stream or the connection ends with it open. */
    public void onReset(Runnable action) {
        this.onReset = action;
    }

    void resetByPeer() {
        localClosed.set(true);
        onReset.run();
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
        if (length == 0 || localClosed.get()) {
            return;
        }
        connection.channel().writeAndFlush(new DefaultSpdyDataFrame(id, Unpooled.copiedBuffer(bytes, offset, length)));
    }

    @Override
    public void finish() {
        if (localClosed.compareAndSet(false, true)) {
            connection.channel().writeAndFlush(new DefaultSpdyDataFrame(id).setLast(true));
        }
    }

    @Override
    public void reset() {
        if (localClosed.compareAndSet(false, true)) {
            connection.channel().writeAndFlush(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.CANCEL));
        }
    }

    @Override
    public StreamConnection connection() {
        return connection;
    }
}
