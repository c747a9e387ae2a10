package dev.berth.streamclient;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdyWindowUpdateFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrame;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyVersion;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client side of kubelet's streaming protocol as client-go's spdystream speaks it (kubectl exec,
 * attach, port-forward): an HTTP upgrade to SPDY/3.1 with {@code X-Stream-Protocol-Version}, then one
 * SPDY stream per channel (headers {@code streamType}, and {@code port}/{@code requestID} for
 * port-forward). Netty's SPDY codec does the framing. Speaks to any CRI streaming server, so tests and
 * benchmarks use it against berth and containerd alike. It acknowledges received data with
 * WINDOW_UPDATE, so servers that keep SPDY flow control keep sending; {@link #setAutoRead} stops
 * reading the socket, to test a server's back-pressure.
 */
public final class SpdyStreamClient implements AutoCloseable {
    /** The HTTP answer when the server did not switch protocols. */
    public static final class Refused extends Exception {
        private final int status;
        private final String body;
        private final HttpHeaders headers;

        Refused(FullHttpResponse r) {
            super(r.status() + ": " + r.content().toString(StandardCharsets.UTF_8));
            this.status = r.status().code();
            this.body = r.content().toString(StandardCharsets.UTF_8);
            this.headers = r.headers().copy();
        }

        public int status() {
            return status;
        }

        public String body() {
            return body;
        }

        public HttpHeaders headers() {
            return headers;
        }
    }

    /** One SPDY stream: what the server sent on it, and how it ended. */
    public final class Stream {
        private final int id;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private final AtomicLong receivedBytes = new AtomicLong();
        private final CompletableFuture<Void> replied = new CompletableFuture<>();
        /** Completes on FIN (true) or RST_STREAM or a closed connection (false). */
        private final CompletableFuture<Boolean> ended = new CompletableFuture<>();
        private volatile boolean keep = true;
        private long unacknowledged;

        Stream(int id) {
            this.id = id;
        }

        public void write(String s) {
            write(s.getBytes(StandardCharsets.UTF_8));
        }

        public void write(byte[] b) {
            channel.writeAndFlush(new DefaultSpdyDataFrame(id, Unpooled.wrappedBuffer(b))).syncUninterruptibly();
        }

        /** Half-closes the stream (FIN): for stdin, EOF to the process. */
        public void finish() {
            channel.writeAndFlush(new DefaultSpdyDataFrame(id).setLast(true)).syncUninterruptibly();
        }

        /** Counts received bytes only (for bulk transfers). */
        public void discard() {
            keep = false;
        }

        /** Keeps received bytes again (after {@link #discard}). */
        public void keep() {
            keep = true;
        }

        public int id() {
            return id;
        }

        /** Completes on the server's SYN_REPLY; fails on RST_STREAM. */
        public CompletableFuture<Void> replied() {
            return replied;
        }

        /** What was kept so far, as bytes. */
        public byte[] bytes() {
            synchronized (received) {
                return received.toByteArray();
            }
        }

        public long receivedBytes() {
            return receivedBytes.get();
        }

        public CompletableFuture<Boolean> ended() {
            return ended;
        }

        /** Everything received once the server finished the stream. */
        public String text(Duration timeout) throws Exception {
            ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return soFar();
        }

        public String soFar() {
            synchronized (received) {
                return received.toString(StandardCharsets.UTF_8);
            }
        }
    }

    private final NioEventLoopGroup group = new NioEventLoopGroup(1);
    private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private Channel channel;
    private String protocol;
    private int nextId = 1;

    /** Upgrades {@code url} (POST, as kubectl) offering these subprotocols, most preferred first. */
    public static SpdyStreamClient connect(String url, List<String> protocols) throws Exception {
        return connect(url, "POST", protocols);
    }

    /** The same with another HTTP method (servers must accept GET and POST). */
    public static SpdyStreamClient connect(String url, String method, List<String> protocols) throws Exception {
        SpdyStreamClient c = new SpdyStreamClient();
        try {
            c.upgrade(URI.create(url), method, protocols);
            return c;
        } catch (Exception e) {
            c.close();
            throw e;
        }
    }

    private void upgrade(URI uri, String method, List<String> protocols) throws Exception {
        CompletableFuture<FullHttpResponse> answer = new CompletableFuture<>();
        channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("http", new HttpClientCodec());
                        ch.pipeline().addLast("agg", new HttpObjectAggregator(1 << 16));
                        ch.pipeline().addLast("answer", new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                if (r.status().code() == 101) {
                                    ctx.pipeline().remove("agg");
                                    ctx.pipeline().replace("http", "spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
                                    ctx.pipeline().replace(this, "frames", new Frames());
                                }
                                answer.complete(r.retain());
                            }
                        });
                    }
                })
                .connect(uri.getHost(), uri.getPort()).sync().channel();
        channel.closeFuture().addListener(f -> {
            closed.complete(null);
            answer.completeExceptionally(new IllegalStateException("connection closed"));
            streams.values().forEach(s -> s.ended.complete(false));
        });
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method),
                uri.getRawPath());
        req.headers().set(HttpHeaderNames.HOST, uri.getHost() + ":" + uri.getPort())
                .set(HttpHeaderNames.CONNECTION, "Upgrade").set(HttpHeaderNames.UPGRADE, "SPDY/3.1")
                .set(HttpHeaderNames.CONTENT_LENGTH, 0);
        for (String p : protocols) {
            req.headers().add("X-Stream-Protocol-Version", p);
        }
        channel.writeAndFlush(req).sync();
        FullHttpResponse r = answer.get(30, TimeUnit.SECONDS);
        try {
            if (r.status().code() != 101) {
                throw new Refused(r);
            }
            protocol = r.headers().get("X-Stream-Protocol-Version");
        } finally {
            r.release();
        }
    }

    /** The subprotocol the server chose. */
    public String protocol() {
        return protocol;
    }

    public CompletableFuture<Void> closed() {
        return closed;
    }

    /** Opens a stream (SYN_STREAM) with these headers and waits for the server's SYN_REPLY. */
    public Stream open(Map<String, String> headers) throws Exception {
        Stream s = openNoWait(headers);
        s.replied.get(30, TimeUnit.SECONDS);
        return s;
    }

    /** Opens a stream without waiting for the reply (kubectl opens all streams, then waits). */
    public synchronized Stream openNoWait(Map<String, String> headers) {
        int id = nextId;
        nextId += 2;
        Stream s = new Stream(id);
        streams.put(id, s);
        DefaultSpdySynStreamFrame syn = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
        headers.forEach((k, v) -> syn.headers().add(k.toLowerCase(), v));
        channel.writeAndFlush(syn).syncUninterruptibly();
        return s;
    }

    /** Off: nothing more is read from the socket (the server's writes back up); on: reading resumes. */
    public void setAutoRead(boolean on) {
        channel.config().setAutoRead(on);
        if (on) {
            channel.read();
        }
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().awaitUninterruptibly();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private final class Frames extends SimpleChannelInboundHandler<SpdyFrame> {
        private long sessionUnacknowledged;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, SpdyFrame f) {
            switch (f) {
                case SpdySynReplyFrame reply -> {
                    Stream s = streams.get(reply.streamId());
                    if (s != null) {
                        s.replied.complete(null);
                    }
                }
                case SpdyDataFrame data -> {
                    Stream s = streams.get(data.streamId());
                    if (s == null) {
                        return;
                    }
                    ByteBuf c = data.content();
                    int n = c.readableBytes();
                    s.receivedBytes.addAndGet(n);
                    if (s.keep) {
                        byte[] b = new byte[n];
                        c.readBytes(b);
                        synchronized (s.received) {
                            s.received.writeBytes(b);
                        }
                    }
                    acknowledge(ctx, s, n);
                    if (data.isLast()) {
                        s.ended.complete(true);
                    }
                }
                case SpdyRstStreamFrame rst -> {
                    Stream s = streams.get(rst.streamId());
                    if (s != null) {
                        s.replied.completeExceptionally(new IllegalStateException("reset: " + rst.status()));
                        s.ended.complete(false);
                    }
                }
                default -> { }
            }
        }

        /** WINDOW_UPDATE per stream and for the session once 32 KiB were consumed (SPDY/3.1 flow control). */
        private void acknowledge(ChannelHandlerContext ctx, Stream s, int n) {
            s.unacknowledged += n;
            sessionUnacknowledged += n;
            if (s.unacknowledged >= 32 << 10) {
                ctx.write(new DefaultSpdyWindowUpdateFrame(s.id, (int) s.unacknowledged));
                s.unacknowledged = 0;
                ctx.write(new DefaultSpdyWindowUpdateFrame(0, (int) sessionUnacknowledged));
                sessionUnacknowledged = 0;
                ctx.flush();
            }
        }
    }
}
