package dev.berth.server.streaming.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.spdy.DefaultSpdyGoAwayFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdySessionStatus;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyVersion;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The server side of a SPDY/3.1 connection as k8s.io/apimachinery's spdystream client uses it:
 * the client opens every stream; the server replies (SYN_REPLY), exchanges data frames, honours
 * FIN and RST_STREAM, answers pings and ends with GOAWAY. Framing and header compression are
 * Netty's {@link SpdyFrameCodec}.
 *
 * <p>No SPDY flow control: spdystream neither sends nor honours WINDOW_UPDATE, so the server
 * bounds its buffers by the TCP connection's writability instead (see {@link StreamConnection}).
 */
public final class SpdySession extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger(SpdySession.class);
    /** How long a client may take to close after GOAWAY (it reads what is left first). */
    static final Duration CLOSE_GRACE = Duration.ofSeconds(10);

    /** What a protocol (remotecommand, portforward) does with the streams the client opens. */
    public interface Listener {
        /**
         * A new stream; set its sink here. Throw {@link IllegalArgumentException} to refuse it
         * (RST_STREAM), as kubelet's stream handler does for a bad port or stream type.
         */
        void streamOpened(SpdyStream stream);

        /** The connection is gone (client closed it, idle timeout, server shutdown). */
        void connectionClosed();
    }

    /** The codec both sides of berth's SPDY use: SPDY/3.1 framing, headers not case-checked. */
    public static SpdyFrameCodec newCodec() {
        return new SpdyFrameCodec(SpdyVersion.SPDY_3_1, 8192, 16384, 6, 15, 8, false);
    }

    private final StreamConnection connection;
    private final Listener listener;
    private final Map<Integer, SpdyStream> streams = new HashMap<>();
    private int lastStreamId;

    public SpdySession(StreamConnection connection, Listener listener) {
        this.connection = connection;
        this.listener = listener;
        connection.setCloser(this::goAway);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (msg) {
                case SpdySynStreamFrame syn -> synStream(ctx, syn);
                case SpdyDataFrame data -> data(ctx, data);
                case SpdyRstStreamFrame rst -> {
                    SpdyStream s = streams.remove(rst.streamId());
                    if (s != null) {
                        s.sink().end();
                        s.resetByPeer();
                    }
                }
                case SpdyPingFrame ping -> {
                    if ((ping.id() & 1) == 1) { // client-initiated pings have odd ids
                        ctx.writeAndFlush(new DefaultSpdyPingFrame(ping.id()));
                    }
                }
                case SpdyGoAwayFrame goAway -> ctx.close();
                default -> { } // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void synStream(ChannelHandlerContext ctx, SpdySynStreamFrame syn) {
        int id = syn.streamId();
        if (syn.isInvalid() || id <= lastStreamId || (id & 1) == 0) {
            ctx.writeAndFlush(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.PROTOCOL_ERROR));
            return;
        }
        lastStreamId = id;
        Map<String, String> headers = new HashMap<>();
        for (Map.Entry<CharSequence, CharSequence> h : syn.headers()) {
            headers.putIfAbsent(h.getKey().toString().toLowerCase(Locale.ROOT), h.getValue().toString());
        }
        SpdyStream stream = new SpdyStream(id, headers, connection);
        try {
            listener.streamOpened(stream);
        } catch (IllegalArgumentException refused) {
            LOG.debugf("refused SPDY stream %d %s: %s", id, headers, refused.getMessage());
            ctx.writeAndFlush(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.REFUSED_STREAM));
            return;
        }
        streams.put(id, stream);
        ctx.writeAndFlush(reply(id, headers));
        if (syn.isLast()) {
            stream.remoteClosed = true;
            stream.sink().end();
        }
    }

    private void data(ChannelHandlerContext ctx, SpdyDataFrame frame) {
        SpdyStream s = streams.get(frame.streamId());
        if (s == null || s.remoteClosed) {
            ctx.writeAndFlush(new DefaultSpdyRstStreamFrame(frame.streamId(), SpdyStreamStatus.INVALID_STREAM));
            return;
        }
        s.sink().data(frame.content().retain());
        if (frame.isLast()) {
            s.remoteClosed = true;
            s.sink().end();
        }
    }

    /**
     * The SYN_REPLY. It must carry a header: Netty encodes an empty header set as no header block at
     * all, which spdystream cannot parse (it expects a compressed block even for zero headers).
     */
    private static DefaultSpdySynReplyFrame reply(int id, Map<String, String> requestHeaders) {
        DefaultSpdySynReplyFrame reply = new DefaultSpdySynReplyFrame(id);
        reply.headers().set("streamtype", requestHeaders.getOrDefault("streamtype", ""));
        return reply;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        connection.writabilityChanged();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (SpdyStream s : streams.values()) {
            s.sink().end();
            s.resetByPeer();
        }
        streams.clear();
        listener.connectionClosed();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debugf("SPDY connection from %s failed: %s", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    private void goAway() {
        Channel ch = connection.channel();
        if (ch.isActive()) {
            ch.writeAndFlush(new DefaultSpdyGoAwayFrame(lastStreamId, SpdySessionStatus.OK))
                    .addListener(f -> halfClose(ch));
        }
    }

    /**
     * After GOAWAY, ends only our direction and lets the client close. Closing at once while the
     * client's frames (WINDOW_UPDATE, PING) sit unread in our socket makes the kernel answer with a
     * reset, and the client loses the output it has not read yet. A client that never closes is
     * closed after {@link #CLOSE_GRACE}.
     */
    private static void halfClose(Channel ch) {
        if (ch instanceof DuplexChannel duplex && ch.isActive()) {
            duplex.shutdownOutput();
            ch.eventLoop().schedule(() -> ch.close(), CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } else {
            ch.close();
        }
    }
}
