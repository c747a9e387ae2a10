package dev.berth.server.streaming;

import dev.berth.server.streaming.portforward.SpdyPortForward;
import dev.berth.server.streaming.portforward.WebSocketPortForward;
import dev.berth.server.streaming.remotecommand.RemoteCommandSession;
import dev.berth.server.streaming.remotecommand.ResizeDecoder;
import dev.berth.server.streaming.remotecommand.SpdyRemoteCommand;
import dev.berth.server.streaming.transport.ChannelWebSocket;
import dev.berth.server.streaming.transport.InSink;
import dev.berth.server.streaming.transport.InboundPipe;
import dev.berth.server.streaming.transport.SpdySession;
import dev.berth.server.streaming.transport.StreamConnection;
import dev.berth.server.streaming.transport.WebSocketTunnel;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The one HTTP request of a streaming connection: {@code GET|POST /exec|attach|portforward/<token>}.
 * The token is used up first (unknown, used or expired: 404, nothing started), then the connection
 * is upgraded to SPDY/3.1 ({@code Upgrade: SPDY/3.1}, subprotocol in X-Stream-Protocol-Version) or
 * WebSocket (subprotocol in Sec-WebSocket-Protocol), and the protocol's handlers replace this one.
 */
final class StreamRequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger LOG = Logger.getLogger(StreamRequestHandler.class);
    static final String CODEC = "http";
    static final String AGGREGATOR = "http-aggregator";

    private final StreamServer server;

    StreamRequestHandler(StreamServer server) {
        this.server = server;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        String path = new QueryStringDecoder(req.uri()).path();
        String[] parts = path.split("/");
        // "/exec/<token>" splits into "", "exec", "<token>"
        if (parts.length != 3 || !List.of("exec", "attach", "portforward").contains(parts[1])) {
            respond(ctx, HttpResponseStatus.NOT_FOUND, "404 page not found");
            return;
        }
        if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.POST)) {
            respond(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET and POST");
            return;
        }
        Optional<StreamTarget> target = server.tokens().consume(parts[2]).filter(t -> t.kind().equals(parts[1]));
        if (target.isEmpty()) {
            respond(ctx, HttpResponseStatus.NOT_FOUND, "404 page not found");
            return;
        }
        HttpHeaders h = req.headers();
        boolean upgrade = h.getAll(HttpHeaderNames.CONNECTION).stream()
                .anyMatch(v -> v.toLowerCase(Locale.ROOT).contains("upgrade"));
        String upgradeTo = h.get(HttpHeaderNames.UPGRADE, "").toLowerCase(Locale.ROOT);
        boolean webSocket = upgrade && upgradeTo.equals("websocket");
        boolean spdy = upgrade && upgradeTo.contains(Protocols.SPDY_31.toLowerCase(Locale.ROOT));
        if (!webSocket && !spdy) {
            respond(ctx, HttpResponseStatus.BAD_REQUEST,
                    "unable to upgrade: missing upgrade headers in request (want Upgrade: SPDY/3.1 or websocket)");
            return;
        }
        if (webSocket) {
            webSocket(ctx, req, target.get());
        } else {
            spdy(ctx, req, target.get());
        }
    }

    private void spdy(ChannelHandlerContext ctx, FullHttpRequest req, StreamTarget target) {
        List<String> offered = req.headers().getAll(Protocols.HEADER_PROTOCOL_VERSION);
        List<String> supported = target instanceof StreamTarget.PortForward
                ? Protocols.SPDY_PORT_FORWARD : Protocols.SPDY_REMOTE_COMMAND;
        if (Protocols.split(offered).isEmpty()) {
            respond(ctx, HttpResponseStatus.BAD_REQUEST, "unable to upgrade: header "
                    + Protocols.HEADER_PROTOCOL_VERSION + " does not exist or names no protocol");
            return;
        }
        Optional<String> protocol = Protocols.negotiate(offered, supported);
        if (protocol.isEmpty()) {
            refuseProtocols(ctx, Protocols.split(offered), supported);
            return;
        }
        if (!server.sessions().tryAcquire()) {
            tooManySessions(ctx);
            return;
        }
        StreamConnection connection = openSession(ctx);
        SpdySession.Listener listener = switch (target) {
            case StreamTarget.PortForward pf -> new SpdyPortForward(server.runtime(), pf.podSandboxId(), connection,
                    server.settings().creationTimeout());
            case StreamTarget.Exec e -> new SpdyRemoteCommand(new RemoteCommandSession(e, server.runtime(),
                    Protocols.statusAsJson(protocol.get()), connection), connection, e.stdin(), e.stdout(), e.stderr(),
                    e.tty(), Protocols.spdySupportsResize(protocol.get()), server.settings().creationTimeout());
            case StreamTarget.Attach a -> new SpdyRemoteCommand(new RemoteCommandSession(a, server.runtime(),
                    Protocols.statusAsJson(protocol.get()), connection), connection, a.stdin(), a.stdout(), a.stderr(),
                    a.tty(), Protocols.spdySupportsResize(protocol.get()), server.settings().creationTimeout());
        };
        HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
        res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
                .set(HttpHeaderNames.UPGRADE, Protocols.SPDY_31)
                .set(Protocols.HEADER_PROTOCOL_VERSION, protocol.get());
        ChannelPipeline p = ctx.pipeline();
        // The 101 is encoded by the HTTP codec now (we are on the event loop); from here on bytes are SPDY.
        ctx.writeAndFlush(res);
        p.remove(AGGREGATOR);
        p.replace(CODEC, "spdy", SpdySession.newCodec());
        p.replace(this, "spdy-session", new SpdySession(connection, listener));
    }

    private void webSocket(ChannelHandlerContext ctx, FullHttpRequest req, StreamTarget target) {
        List<String> offered = Protocols.split(req.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL));
        List<String> supported = target instanceof StreamTarget.PortForward
                ? Protocols.WEBSOCKET_PORT_FORWARD : Protocols.WEBSOCKET_REMOTE_COMMAND;
        Optional<String> protocol = Protocols.negotiate(offered, supported);
        if (protocol.isEmpty()) {
            // golang.org/x/net/websocket (kubelet) answers a failed handshake with 403
            refuseProtocols(ctx, offered, supported);
            return;
        }
        if (target instanceof StreamTarget.PortForward pf && pf.ports().isEmpty()
                && !protocol.get().equals(Protocols.SPDY_OVER_WEBSOCKET_PORT_FORWARD)) {
            respond(ctx, HttpResponseStatus.BAD_REQUEST, "the PortForward request named no port");
            return;
        }
        if (!server.sessions().tryAcquire()) {
            tooManySessions(ctx);
            return;
        }
        String url = "ws://" + req.headers().get(HttpHeaderNames.HOST, "localhost") + req.uri();
        WebSocketServerHandshaker handshaker = new WebSocketServerHandshakerFactory(url,
                protocol.get().isEmpty() ? null : protocol.get(), false, 1 << 20).newHandshaker(req);
        if (handshaker == null) {
            server.sessions().release();
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
            return;
        }
        StreamConnection connection = openSession(ctx);
        String proto = protocol.get();
        ChannelPipeline p = ctx.pipeline();
        Runnable afterHandshake;
        if (proto.equals(Protocols.SPDY_OVER_WEBSOCKET_PORT_FORWARD)) {
            StreamTarget.PortForward pf = (StreamTarget.PortForward) target;
            p.replace(this, "ws-tunnel", new WebSocketTunnel());
            // The SPDY codec refuses to pass the HTTP 101 on, so it joins once the handshake is written.
            afterHandshake = () -> {
                p.addAfter("ws-tunnel", "spdy", SpdySession.newCodec());
                p.addAfter("spdy", "spdy-session", new SpdySession(connection, new SpdyPortForward(server.runtime(),
                        pf.podSandboxId(), connection, server.settings().creationTimeout())));
            };
        } else if (target instanceof StreamTarget.PortForward pf) {
            WebSocketPortForward forward = new WebSocketPortForward(server.runtime(), pf.podSandboxId(), pf.ports(),
                    connection);
            ChannelWebSocket ws = new ChannelWebSocket(connection, proto.equals(Protocols.V4_BASE64), false,
                    forward.sinks(), () -> { });
            p.replace(this, "ws-channels", ws);
            afterHandshake = () -> forward.start(ws, connection);
        } else {
            boolean base64 = proto.equals(Protocols.V4_BASE64) || proto.equals(Protocols.V1_BASE64);
            boolean stdinWanted = target instanceof StreamTarget.Exec e ? e.stdin() : ((StreamTarget.Attach) target).stdin();
            boolean stdoutWanted = target instanceof StreamTarget.Exec e ? e.stdout() : ((StreamTarget.Attach) target).stdout();
            boolean stderrWanted = target instanceof StreamTarget.Exec e ? e.stderr() : ((StreamTarget.Attach) target).stderr();
            InboundPipe stdin = stdinWanted ? new InboundPipe(connection) : null;
            ResizeDecoder resize = new ResizeDecoder();
            // channels: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize
            InSink[] sinks = {stdin, null, null, null, resize};
            ChannelWebSocket ws = new ChannelWebSocket(connection, base64, proto.equals(Protocols.V5), sinks, () -> { });
            p.replace(this, "ws-channels", ws);
            RemoteCommandSession session = new RemoteCommandSession(target, server.runtime(),
                    Protocols.statusAsJson(proto), connection);
            afterHandshake = () -> {
                // kubelet's first message says the streams are ready: empty, on the first output channel
                ws.writeEmpty(stdoutWanted ? 1 : stderrWanted ? 2 : 3);
                session.start(new RemoteCommandSession.Streams(stdin, stdoutWanted ? ws.out(1) : null,
                        stderrWanted ? ws.out(2) : null, ws.out(3), resize));
            };
        }
        handshaker.handshake(ctx.channel(), req).addListener(f -> {
            if (f.isSuccess()) {
                afterHandshake.run();
            } else {
                LOG.debugf("WebSocket handshake failed: %s", f.cause());
                connection.abort();
            }
        });
    }

    /** Counts the connection as a session until it closes, and watches its writability. */
    private StreamConnection openSession(ChannelHandlerContext ctx) {
        StreamConnection connection = new StreamConnection(ctx.channel());
        connection.onClose(server.sessions()::release);
        return connection;
    }

    private void refuseProtocols(ChannelHandlerContext ctx, List<String> offered, List<String> supported) {
        FullHttpResponse res = response(HttpResponseStatus.FORBIDDEN, "unable to upgrade: unable to negotiate "
                + "protocol: client supports " + offered + ", server accepts " + supported);
        for (String s : supported) {
            if (!s.isEmpty()) {
                res.headers().add(Protocols.HEADER_ACCEPTED_VERSIONS, s);
            }
        }
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }

    private void tooManySessions(ChannelHandlerContext ctx) {
        FullHttpResponse res = response(HttpResponseStatus.TOO_MANY_REQUESTS, "too many streaming sessions are open ("
                + server.settings().maxSessions() + ", stream.max_sessions)");
        res.headers().set(HttpHeaderNames.RETRY_AFTER, "60");
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }

    private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
        ctx.writeAndFlush(response(status, text)).addListener(ChannelFutureListener.CLOSE);
    }

    private static FullHttpResponse response(HttpResponseStatus status, String text) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(text + "\n", StandardCharsets.UTF_8));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        HttpUtil.setContentLength(res, res.content().readableBytes());
        return res;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debugf("streaming request from %s failed: %s", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    static void install(ChannelPipeline p) { // HTTP until the upgrade
        p.addLast(CODEC, new HttpServerCodec());
        p.addLast(AGGREGATOR, new HttpObjectAggregator(64 * 1024));
    }
}
