package dev.berth.server.streaming;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.runtime.stream.ContainerStreams;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * berth's streaming server: the URLs Exec, Attach and PortForward return point here, and kubelet,
 * kubectl and crictl connect to them with SPDY/3.1 or WebSocket, as they do to kubelet's own
 * streaming server. A listener of its own (one Netty event loop), apart from the Quarkus HTTP side;
 * sessions run on virtual threads.
 *
 * <p>Limits: a session is one upgraded connection; at most {@code maxSessions} are open (more are
 * refused at the RPC and at the upgrade); a connection with no traffic for {@code idleTimeout} is
 * closed; every stream's output waits for the connection to drain past {@link #HIGH_WATER}
 * instead of buffering.
 */
public final class StreamServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StreamServer.class);
    static final int LOW_WATER = 64 * 1024;
    static final int HIGH_WATER = 256 * 1024;

    /** kubelet's DefaultStreamCreationTimeout: the client must open its streams within this. */
    public static final Duration CREATION_TIMEOUT = Duration.ofSeconds(30);

    public record Settings(String host, int port, Duration idleTimeout, int maxSessions, Duration creationTimeout) {
        public Settings(String host, int port, Duration idleTimeout, int maxSessions) {
            this(host, port, idleTimeout, maxSessions, CREATION_TIMEOUT);
        }
    }

    private final Settings settings;
    private final Supplier<ContainerStreams> runtime;
    private final StreamTokens tokens;
    private final Semaphore sessions;
    private EventLoopGroup group;
    private ChannelGroup channels;
    private Channel listener;
    private volatile String baseUrl;

    /**
     * @param runtime the runtime's exec, attach and port-forward; asked for at each session (it may
     *     throw when this build has none)
     */
    public StreamServer(Settings settings, Supplier<ContainerStreams> runtime, StreamTokens tokens) {
        this.settings = settings;
        this.runtime = runtime;
        this.tokens = tokens;
        this.sessions = new Semaphore(settings.maxSessions());
    }

    /** Binds the listener; the port is the configured one, or any free one for port 0. */
    public synchronized void start() throws InterruptedException {
        boolean epoll = Epoll.isAvailable();
        group = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(LOW_WATER, HIGH_WATER))
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        channels.add(ch);
                        StreamRequestHandler.install(ch.pipeline());
                        long idle = settings.idleTimeout().toMillis();
                        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, idle, TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("idle-close", new IdleCloser());
                        ch.pipeline().addLast("request", new StreamRequestHandler(StreamServer.this));
                    }
                });
        try {
            listener = b.bind(settings.host(), settings.port()).sync().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw BerthException.unavailable("streaming server cannot listen on " + settings.host() + ":"
                    + settings.port() + " (stream.host, stream.port): " + e.getMessage(), e);
        }
        InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
        String host = advertisedHost(bound.getAddress());
        baseUrl = "http://" + host + ":" + bound.getPort();
        LOG.infof("streaming server (exec, attach, port-forward) listens on %s", baseUrl);
    }

    private static String advertisedHost(InetAddress address) {
        if (address.isAnyLocalAddress()) {
            return "127.0.0.1";
        }
        String h = address.getHostAddress();
        return h.contains(":") ? "[" + h + "]" : h;
    }

    /**
     * A URL for {@code target}: {@code http://host:port/<kind>/<token>}, usable once within a
     * minute. RESOURCE_EXHAUSTED when the session limit is reached, so the caller hears it before
     * connecting.
     */
    public String url(StreamTarget target) {
        if (baseUrl == null) {
            throw BerthException.unavailable("the streaming server is not running", null);
        }
        if (sessions.availablePermits() == 0) {
            throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, "too many streaming sessions are open ("
                    + settings.maxSessions() + ", the stream.max_sessions limit); retry when one has ended");
        }
        return baseUrl + "/" + target.kind() + "/" + tokens.issue(target);
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    public int openSessions() {
        return settings.maxSessions() - sessions.availablePermits();
    }

    /** Bytes written to clients but not yet taken by their sockets, over all connections (tests). */
    public long pendingOutboundBytes() {
        long sum = 0;
        for (Channel c : channels) {
            var buf = c.unsafe().outboundBuffer();
            sum += buf == null ? 0 : buf.totalPendingWriteBytes();
        }
        return sum;
    }

    @Override
    public synchronized void close() {
        if (group == null) {
            return;
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        channels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        group = null;
        baseUrl = null;
    }

    Settings settings() {
        return settings;
    }

    StreamTokens tokens() {
        return tokens;
    }

    Semaphore sessions() {
        return sessions;
    }

    Supplier<ContainerStreams> runtime() {
        return runtime;
    }

    /** The idle timeout: no bytes either way for that long ends the connection and its session. */
    private static final class IdleCloser extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                LOG.debugf("closing idle streaming connection from %s", ctx.channel().remoteAddress());
                ctx.close();
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }
    }
}
