package dev.berth.conformance.harness;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.RuntimeServiceGrpc;

/**
 * A CRI v1 client over a unix socket, the way kubelet and crictl connect. Works against berth and
 * against any other CRI runtime (the reference containerd), so tests encode CRI behaviour, not
 * berth's. Each call gets a deadline so a hung runtime fails the test instead of hanging it.
 */
public final class CriClient implements AutoCloseable {
    /**
     * grpc-netty asks every client channel for SO_KEEPALIVE, which a unix socket has not, and Netty
     * warns about it on each connection: hundreds of lines that hid test failures in CI logs. Held
     * here because java.util.logging keeps loggers only weakly.
     */
    private static final java.util.logging.Logger BOOTSTRAP_LOG = quiet("io.netty.bootstrap");

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger(name);
        l.setLevel(java.util.logging.Level.SEVERE);
        return l;
    }

    private final EpollEventLoopGroup loop = new EpollEventLoopGroup(1);
    private final ManagedChannel channel;
    private final long deadlineSeconds;

    public CriClient(Path socket) {
        this(socket, 120);
    }

    public CriClient(Path socket, long deadlineSeconds) {
        this.deadlineSeconds = deadlineSeconds;
        this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class)
                .eventLoopGroup(loop)
                .usePlaintext()
                .maxInboundMessageSize(16 * 1024 * 1024)
                .build();
    }

    /** A client for an endpoint written as kubelet takes it: {@code unix:///run/x.sock}. */
    public static CriClient forEndpoint(String endpoint) {
        return new CriClient(Path.of(endpoint.replaceFirst("^unix://", "")));
    }

    public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
        return RuntimeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
    }

    public ImageServiceGrpc.ImageServiceBlockingStub images() {
        return ImageServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
    }

    public ManagedChannel channel() {
        return channel;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
