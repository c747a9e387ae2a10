package dev.berth.server.streaming.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.util.ReferenceCountUtil;

/**
 * A byte stream inside WebSocket binary messages, for SPDY tunnelled over WebSocket
 * ({@code SPDY/3.1+portforward.k8s.io}, client-go's tunneling dialer, {@code crictl port-forward
 * -r websocket}): message payloads in, bytes out as binary messages. The SPDY codec sits after it.
 */
public final class WebSocketTunnel extends ChannelDuplexHandler {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (msg) {
            case BinaryWebSocketFrame bin -> ctx.fireChannelRead(bin.content());
            case ContinuationWebSocketFrame cont -> ctx.fireChannelRead(cont.content());
            case PingWebSocketFrame ping -> {
                ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
            }
            case CloseWebSocketFrame close -> {
                close.release();
                ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE))
                        .addListener(ChannelFutureListener.CLOSE);
            }
            default -> ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf bytes) {
            ctx.write(new BinaryWebSocketFrame(bytes), promise);
        } else {
            ctx.write(msg, promise);
        }
    }
}
