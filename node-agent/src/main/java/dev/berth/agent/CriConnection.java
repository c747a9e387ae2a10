package dev.berth.agent;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import runtime.v1.RuntimeServiceGrpc;

/**
 * One gRPC channel to berth's CRI socket. gRPC reconnects the channel by itself after berth
 * restarts; every unary call has a short deadline so a hung daemon never hangs the agent.
 */
final class CriConnection implements AutoCloseable {
    private final EpollEventLoopGroup loop = new EpollEventLoopGroup(1);
    private final ManagedChannel channel;

    CriConnection(Path socket) {
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(loop).usePlaintext()
                .maxInboundMessageSize(16 << 20).build();
    }

    RuntimeServiceGrpc.RuntimeServiceBlockingStub unary() {
        return RuntimeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    RuntimeServiceGrpc.RuntimeServiceStub streaming() {
        return RuntimeServiceGrpc.newStub(channel);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
