package dev.berth.server;

import dev.berth.core.error.BerthException;
import dev.berth.core.state.StateStore;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.rpc.ImageServiceDispatcher;
import dev.berth.server.rpc.ReadCalls;
import dev.berth.server.rpc.RuntimeServiceDispatcher;
import dev.berth.server.rpc.interceptor.InstrumentingInterceptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Serves CRI v1 on the unix socket. grpc-java runs on one epoll boss and one worker thread; the
 * handlers run on virtual threads because most of them block on the kernel, runc or the disk,
 * except the reads served from memory, which are answered on the worker thread itself ({@link ReadCalls}).
 */
@ApplicationScoped
public class CriSocketServer {
    private static final Logger LOG = Logger.getLogger(CriSocketServer.class);
    /** kubelet allows 16 MiB messages; ListContainers on a busy node gets large. */
    public static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
    /** What a client may send before berth reads it (grpc-netty's default size): requests are small. */
    static final int FLOW_CONTROL_WINDOW = 1024 * 1024;

    @Inject
    BerthConfig config;

    @Inject
    RuntimeServiceDispatcher runtimeService;

    @Inject
    ImageServiceDispatcher imageService;

    @Inject
    InstrumentingInterceptor instrumenting;

    @Inject
    StateStore store;

    private Server server;
    private EpollEventLoopGroup loop;
    private ExecutorService handlers;
    private volatile boolean serving;

    void onStart(@Observes StartupEvent event) throws IOException {
        // Open the store (and create the state roots) before serving: a daemon that cannot
        // remember what it runs must not accept work.
        if (!store.usable()) {
            throw BerthException.precondition("state store %s does not answer", store.file());
        }
        Path socket = config.socket();
        Files.createDirectories(socket.getParent());
        removeStaleSocket(socket);
        // one thread accepts and serves: kubelet and crictl connect rarely, and a second loop
        // only for accepting would hold a thread (and its stack) for nothing
        loop = new EpollEventLoopGroup(1);
        handlers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("cri-", 0).factory());
        server = transport(socket, loop, handlers)
                .addService(ServerInterceptors.intercept(runtimeService, instrumenting))
                .addService(ServerInterceptors.intercept(imageService, instrumenting))
                .build()
                .start();
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
        serving = true;
        LOG.infof("berth serves CRI v1 on unix://%s", socket);
    }

    void onStop(@Observes ShutdownEvent event) {
        serving = false;
        if (server != null) {
            server.shutdown();
            try {
                if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                    server.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                server.shutdownNow();
            }
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            handlers.shutdown();
        }
        try {
            Files.deleteIfExists(config.socket());
        } catch (IOException e) {
            LOG.warnf("could not remove socket %s: %s", config.socket(), e.getMessage());
        }
        LOG.info("berth stopped; containers keep running under their monitors");
    }

    /**
     * The gRPC server on {@code socket} without its services: grpc-java on the given epoll group,
     * which accepts connections and serves them, the reads answered on its event loop and every
     * other call on {@code lifecycle}
     * (see {@link ReadCalls}).
     */
    public static NettyServerBuilder transport(Path socket, EpollEventLoopGroup loop, Executor lifecycle) {
        return NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class)
                .bossEventLoopGroup(loop)
                .workerEventLoopGroup(loop)
                .directExecutor()
                .callExecutor(new ReadCalls(lifecycle))
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                // a fixed window: grpc-netty's default (auto-tuned) answers each request's data with
                // a bandwidth-estimating PING, one more write and one more read per call, to size a
                // window for network links; a unix socket has none to estimate
                .flowControlWindow(FLOW_CONTROL_WINDOW)
                // grpc-netty sets SO_KEEPALIVE on every accepted channel; a unix socket has none, and
                // netty logged "Unknown channel option" at WARN for each kubelet/crictl connection
                .withChildOption(ChannelOption.SO_KEEPALIVE, null);
    }

    public boolean serving() {
        return serving && server != null && !server.isShutdown();
    }

    /**
     * A socket file left by a daemon that died is removed; one that still answers belongs to a
     * running daemon, and starting a second on it would steal kubelet's traffic.
     */
    private static void removeStaleSocket(Path socket) throws IOException {
        if (!Files.exists(socket)) {
            return;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            throw BerthException.precondition(
                    "socket %s is served by another running daemon; stop it or set BERTH_SOCKET", socket);
        } catch (IOException refused) {
            Files.delete(socket);
        }
    }
}
