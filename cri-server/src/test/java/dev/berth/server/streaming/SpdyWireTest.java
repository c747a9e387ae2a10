package dev.berth.server.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.server.streaming.transport.SpdySession;
import dev.berth.server.streaming.transport.SpdyStream;
import dev.berth.server.streaming.transport.StreamConnection;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bytes on the wire where Netty and spdystream could disagree. */
class SpdyWireTest {
    @Test
    void synReplyCarriesAHeaderBlockSpdystreamCanParse() {
        // Netty writes an empty header set as no block at all; spdystream then hangs waiting
        // for the compressed header count (found with crictl).
        EmbeddedChannel client = new EmbeddedChannel(SpdySession.newCodec());
        DefaultSpdySynStreamFrame syn = new DefaultSpdySynStreamFrame(1, 0, (byte) 0);
        syn.headers().set("streamtype", "error");
        client.writeOutbound(syn);
        ByteBuf synBytes = client.readOutbound();

        List<SpdyStream> opened = new ArrayList<>();
        EmbeddedChannel server = new EmbeddedChannel();
        StreamConnection connection = new StreamConnection(server);
        server.pipeline().addLast(SpdySession.newCodec(), new SpdySession(connection, new SpdySession.Listener() {
            @Override
            public void streamOpened(SpdyStream stream) {
                opened.add(stream);
            }

            @Override
            public void connectionClosed() {}
        }));
        server.writeInbound(synBytes);
        assertEquals("error", opened.getFirst().header("streamtype"));
        ByteBuf reply = server.readOutbound();
        assertEquals(0x8003, reply.getUnsignedShort(0), "SPDY/3 control frame");
        assertEquals(2, reply.getUnsignedShort(2), "SYN_REPLY");
        int length = reply.getInt(4) & 0xFFFFFF;
        assertTrue(length > 4, "a header block follows the stream id: length " + length);
        reply.release();
    }
}
