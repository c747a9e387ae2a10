package dev.berth.server.streaming.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.jboss.logging.Logger;

/**
 * The channel protocol of k8s.io/apimachinery wsstream over one WebSocket: every message starts
 * with a channel number (a byte; '0'+n in the base64 variants, whose data is base64 text). The v5
 * protocol adds the close signal, message {255, n}: the client sends no more on channel n.
 *
 * <p>A message may arrive in fragments (gorilla/websocket splits large writes); the channel byte
 * leads only the first, so the channel of the message in progress is remembered.
 */
public final class ChannelWebSocket extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger(ChannelWebSocket.class);
    public static final int CLOSE_SIGNAL = 255;
    /** Base64 messages are decoded whole; larger ones are refused. */
    private static final int MAX_TEXT_MESSAGE = 1 << 20;

    private final StreamConnection connection;
    private final boolean base64;
    private final boolean closeSignal;
    private final InSink[] sinks;
    private final Runnable onClosed;
    /** Channel of the binary message in progress; -1 to drop its fragments. */
    private int current = -1;
    private StringBuilder text;

    /**
     * @param sinks one per channel; null for channels the client must not write (ignored, as kubelet
     *     ignores them)
     */
    public ChannelWebSocket(StreamConnection connection, boolean base64, boolean closeSignal, InSink[] sinks,
            Runnable onClosed) {
        this.connection = connection;
        this.base64 = base64;
        this.closeSignal = closeSignal;
        this.sinks = sinks.clone();
        this.onClosed = onClosed;
        connection.setCloser(this::closeNormally);
    }

    /** The server's stream on channel {@code n}. */
    public OutStream out(int n) {
        return new ChannelOut(n);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (msg) {
                case PingWebSocketFrame ping -> ctx.writeAndFlush(new PongWebSocketFrame(ping.content().retain()));
                case CloseWebSocketFrame close -> ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE))
                        .addListener(ChannelFutureListener.CLOSE);
                case BinaryWebSocketFrame bin when !base64 -> binaryStart(bin);
                case ContinuationWebSocketFrame cont when !base64 -> deliver(current, cont.content());
                case TextWebSocketFrame t when base64 -> textPart(t, true);
                case ContinuationWebSocketFrame cont when base64 -> textPart(cont, false);
                case WebSocketFrame other -> LOG.debugf("ignored %s in a %s channel stream",
                        other.getClass().getSimpleName(), base64 ? "base64" : "binary");
                default -> { }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void binaryStart(BinaryWebSocketFrame frame) {
        ByteBuf content = frame.content();
        if (!content.isReadable()) {
            current = -1;
            return;
        }
        int channel = content.readUnsignedByte();
        if (closeSignal && channel == CLOSE_SIGNAL) {
            current = -1;
            if (content.readableBytes() == 1) {
                end(content.readUnsignedByte());
            }
            return;
        }
        current = channel;
        deliver(channel, content);
    }

    private void textPart(WebSocketFrame frame, boolean first) {
        if (first) {
            text = new StringBuilder();
        }
        if (text == null) {
            return;
        }
        text.append(frame.content().toString(StandardCharsets.US_ASCII));
        if (text.length() > MAX_TEXT_MESSAGE) {
            LOG.debugf("dropped a base64 message over %d bytes", MAX_TEXT_MESSAGE);
            text = null;
            return;
        }
        if (frame.isFinalFragment()) {
            String message = text.toString();
            text = null;
            if (message.isEmpty()) {
                return;
            }
            int channel = message.charAt(0) - '0';
            try {
                byte[] data = Base64.getDecoder().decode(message.substring(1));
                deliver(channel, Unpooled.wrappedBuffer(data));
            } catch (IllegalArgumentException e) {
                LOG.debugf("dropped a message that is not base64 on channel %d", channel);
            }
        }
    }

    private void deliver(int channel, ByteBuf data) {
        if (channel < 0 || channel >= sinks.length || sinks[channel] == null) {
            return;
        }
        sinks[channel].data(data.retain());
    }

    private void end(int channel) {
        if (channel < sinks.length && sinks[channel] != null) {
            sinks[channel].end();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        connection.writabilityChanged();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (InSink s : sinks) {
            if (s != null) {
                s.end();
            }
        }
        onClosed.run();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debugf("WebSocket stream from %s failed: %s", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    private void closeNormally() {
        if (connection.channel().isActive()) {
            connection.channel().writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE))
                    .addListener(ChannelFutureListener.CLOSE);
        }
    }

    private final class ChannelOut implements OutStream {
        private final int channel;

        ChannelOut(int channel) {
            this.channel = channel;
        }

        @Override
        public void write(byte[] bytes, int offset, int length) {
            write(bytes, offset, length, false);
        }

        /** Also writes empty messages: kubelet's first message on a channel may carry no data. */
        void write(byte[] bytes, int offset, int length, boolean allowEmpty) {
            if (length == 0 && !allowEmpty) {
                return;
            }
            WebSocketFrame frame;
            if (base64) {
                String s = (char) ('0' + channel) + Base64.getEncoder().encodeToString(
                        java.util.Arrays.copyOfRange(bytes, offset, offset + length));
                frame = new TextWebSocketFrame(s);
            } else {
                ByteBuf buf = Unpooled.buffer(length + 1);
                buf.writeByte(channel).writeBytes(bytes, offset, length);
                frame = new BinaryWebSocketFrame(buf);
            }
            connection.channel().writeAndFlush(frame);
        }

        @Override
        public void finish() {
            // kubelet's WebSocket streams never end a channel on their own; the connection's close does.
        }

        @Override
        public void reset() {}

        @Override
        public StreamConnection connection() {
            return connection;
        }
    }

    /** Writes a message with no data on channel {@code n}: the "streams are ready" signal. */
    public void writeEmpty(int n) {
        new ChannelOut(n).write(new byte[0], 0, 0, true);
    }
}
