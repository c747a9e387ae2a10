package dev.berth.server.streaming.transport;

import io.netty.buffer.ByteBuf;

/** Where a stream's data from the client goes. Called on the connection's event loop. */
public interface InSink {
    /** Takes ownership of {@code data} (releases it). */
    void data(ByteBuf data);

    /** The client sends no more on this stream (FIN, v5 close signal, reset or connection gone). */
    void end();

    /** Drops everything: streams a session does not use (kubelet accepts and ignores them). */
    InSink DISCARD = new InSink() {
        @Override
        public void data(ByteBuf data) {
            data.release();
        }

        @Override
        public void end() {}
    };
}
