package dev.berth.server.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.server.CriSocketServer;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RunPodSandboxResponse;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.VersionRequest;
import runtime.v1.VersionResponse;

class ReadCallsTest {
    private static final MethodHandle POLL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("poll").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    @TempDir
    Path dir;

    @Test
    void theReadsServedFromMemoryStayOnTheTransportAndLifecycleCallsGoToTheirExecutor() {
        List<MethodDescriptor<?, ?>> all = Stream.concat(
                RuntimeServiceGrpc.getServiceDescriptor().getMethods().stream(),
                ImageServiceGrpc.getServiceDescriptor().getMethods().stream()).toList();
        Set<String> names = all.stream().map(MethodDescriptor::getBareMethodName).collect(Collectors.toSet());
        assertTrue(names.containsAll(ReadCalls.METHODS), "every read named is a CRI method: " + ReadCalls.METHODS);
        java.util.concurrent.Executor lifecycle = Runnable::run;
        ReadCalls calls = new ReadCalls(lifecycle);
        for (MethodDescriptor<?, ?> m : all) {
            if (ReadCalls.METHODS.contains(m.getBareMethodName())) {
                assertNull(calls.getExecutor(new FakeServerCall(m), new Metadata()), m.getFullMethodName()
                        + " is answered where it was decoded");
            } else {
                assertSame(lifecycle, calls.getExecutor(new FakeServerCall(m), new Metadata()), m.getFullMethodName());
            }
        }
        for (String call : List.of("RunPodSandbox", "CreateContainer", "StartContainer", "StopPodSandbox",
                "RemoveContainer", "PullImage", "ExecSync", "ListContainerStats", "GetContainerEvents")) {
            assertTrue(names.contains(call) && !ReadCalls.isRead(call), call);
        }
    }

    /**
     * Through the daemon's own transport: a read is answered on the event loop, with no thread
     * hand-off, while every carrier of the virtual threads is held by lifecycle calls in native
     * code (a wait for conmon, an fsync); lifecycle calls run on virtual threads.
     */
    @Test
    void aReadIsAnsweredOnTheEventLoopWhileEveryCarrierIsHeld() throws Exception {
        int carriers = Runtime.getRuntime().availableProcessors();
        Path socket = dir.resolve("cri.sock");
        EpollEventLoopGroup loop = new EpollEventLoopGroup(1);
        EpollEventLoopGroup client = new EpollEventLoopGroup(1);
        ExecutorService lifecycle = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("cri-", 0).factory());
        AtomicReference<Thread> readThread = new AtomicReference<>();
        List<Thread> lifecycleThreads = java.util.Collections.synchronizedList(new ArrayList<>());
        Server server = CriSocketServer.transport(socket, loop, lifecycle)
                .addService(new RuntimeServiceGrpc.RuntimeServiceImplBase() {
                    @Override
                    public void version(VersionRequest r, StreamObserver<VersionResponse> o) {
                        readThread.set(Thread.currentThread());
                        o.onNext(VersionResponse.newBuilder().setRuntimeName("read").build());
                        o.onCompleted();
                    }

                    @Override
                    public void runPodSandbox(RunPodSandboxRequest r, StreamObserver<RunPodSandboxResponse> o) {
                        lifecycleThreads.add(Thread.currentThread());
                        try {
                            int ignored = (int) POLL.invokeExact(MemorySegment.NULL, 0L, 1500);
                        } catch (Throwable t) {
                            throw new RuntimeException(t);
                        }
                        o.onNext(RunPodSandboxResponse.newBuilder().setPodSandboxId("p").build());
                        o.onCompleted();
                    }
                })
                .build().start();
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(client).usePlaintext().build();
        try {
            RuntimeServiceGrpc.RuntimeServiceFutureStub async = RuntimeServiceGrpc.newFutureStub(channel);
            List<com.google.common.util.concurrent.ListenableFuture<RunPodSandboxResponse>> pods = new ArrayList<>();
            for (int i = 0; i < carriers + 2; i++) {
                pods.add(async.runPodSandbox(RunPodSandboxRequest.getDefaultInstance()));
            }
            for (int i = 0; i < 100 && lifecycleThreads.size() < carriers; i++) {
                Thread.sleep(10);
            }
            assertEquals(carriers, lifecycleThreads.size(), "every carrier holds a lifecycle call in native code");
            long t0 = System.nanoTime();
            VersionResponse v = RuntimeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .version(VersionRequest.getDefaultInstance());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals("read", v.getRuntimeName());
            assertTrue(ms < 500, "Version waited " + ms + " ms behind lifecycle work");
            assertFalse(readThread.get().isVirtual(), "the read ran on " + readThread.get());
            assertTrue(readThread.get().getName().contains("epoll"), "the read ran on the event loop, not on "
                    + readThread.get());
            for (var p : pods) {
                assertEquals("p", p.get(10, TimeUnit.SECONDS).getPodSandboxId());
            }
            assertTrue(lifecycleThreads.stream().allMatch(Thread::isVirtual), "lifecycle calls: " + lifecycleThreads);
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
            lifecycle.shutdown();
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            client.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
