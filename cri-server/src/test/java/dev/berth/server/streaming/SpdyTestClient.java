package dev.berth.server.streaming;

import dev.berth.server.streaming.transport.SpdySession;
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
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdySynReplyFrame;
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
 * A SPDY/3.1 client as client-go's spdystream behaves, for tests: upgrades with
 * X-Stream-Protocol-Version, opens streams with headers, writes data, half-closes with FIN, and
 * collects what the server sends per stream. Netty's SPDY codec does the framing.
 */
final class SpdyTestClient implements AutoCloseable {
    /** The HTTP answer when the server did not switch protocols. */
    static final class Refused extends Exception {
        final int status;
        final String body;
        final FullHttpResponse response;

        Refused(FullHttpResponse r) {
            super(r.status() + ": " + r.content().toString(StandardCharsets.UTF_8));
            this.status = r.status().code();
            this.body = r.content().toString(StandardCharsets.UTF_8);
            this.response = r;
        }
    }

    final class Stream {
        final int id;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        final AtomicLong receivedBytes = new AtomicLong();
        final CompletableFuture<Void> replied = new CompletableFuture<>();
        /** Completes on FIN (true) or RST_STREAM (false). */
        final CompletableFuture<Boolean> ended = new CompletableFuture<>();
        volatile boolean keep = true;

        Stream(int id) {
            this.id = id;
        }

        void write(String s) {
            write(s.getBytes(StandardCharsets.UTF_8));
        }

        void write(byte[] b) {
            channel.writeAndFlush(new DefaultSpdyDataFrame(id, Unpooled.wrappedBuffer(b))).syncUninterruptibly();
        }

        void finish() {
            channel.writeAndFlush(new DefaultSpdyDataFrame(id).setLast(true)).syncUninterruptibly();
        }

        /** Everything received once the server finished the stream. */
        String text(Duration timeout) throws Exception {
            ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            synchronized (received) {
                return received.toString(StandardCharsets.UTF_8);
            }
        }

        String soFar() {
            synchronized (received) {
                return received.toString(StandardCharsets.UTF_8);
            }
        }
    }

    private final NioEventLoopGroup group = new NioEventLoopGroup(1);
    private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
    private Channel channel;
    private String protocol;
    private int nextId = 1;
    final CompletableFuture<Void> closed = new CompletableFuture<>();

    static SpdyTestClient connect(String url, String method, List<String> protocols) throws Exception {
        SpdyTestClient c = new SpdyTestClient();
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
                                    ctx.pipeline().replace("http", "spdy", SpdySession.newCodec());
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
        FullHttpResponse r = answer.get(10, TimeUnit.SECONDS);
        if (r.status().code() != 101) {
            throw new Refused(r);
        }
        protocol = r.headers().get("X-Stream-Protocol-Version");
    }

    String protocol() {
        return protocol;
    }

    /** Opens a stream (SYN_STREAM) with these headers; waits for the server's SYN_REPLY. */
    Stream open(Map<String, String> headers) throws Exception {
        Stream s = openNoWait(headers);
        s.replied.get(10, TimeUnit.SECONDS);
        return s;
    }

    synchronized Stream openNoWait(Map<String, String> headers) {
        int id = nextId;
        nextId += 2;
        Stream s = new Stream(id);
        streams.put(id, s);
        DefaultSpdySynStreamFrame syn = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
        headers.forEach((k, v) -> syn.headers().add(k.toLowerCase(), v));
        channel.writeAndFlush(syn).syncUninterruptibly();
        return s;
    }

    void setAutoRead(boolean on) {
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
                    s.receivedBytes.addAndGet(c.readableBytes());
                    if (s.keep) {
                        byte[] b = new byte[c.readableBytes()];
                        c.readBytes(b);
                        synchronized (s.received) {
                            s.received.writeBytes(b);
                        }
                    }
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
    }
}
