package dev.berth.server.rpc;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.RuntimeServiceGrpc;

class ReadCallsTest {
    private static final MethodHandle POLL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("poll").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    /** A call of {@code method}: all the executor supplier looks at. */
    private static ServerCall<Object, Object> call(MethodDescriptor<?, ?> method) {
        return new FakeServerCall(method);
    }

    @Test
    void theReadsServedFromMemoryGetTheirOwnThreadsAndLifecycleCallsTheDefault() {
        List<MethodDescriptor<?, ?>> all = Stream.concat(
                RuntimeServiceGrpc.getServiceDescriptor().getMethods().stream(),
                ImageServiceGrpc.getServiceDescriptor().getMethods().stream()).toList();
        Set<String> names = all.stream().map(MethodDescriptor::getBareMethodName).collect(Collectors.toSet());
        assertTrue(names.containsAll(ReadCalls.METHODS), "every read named is a CRI method: " + ReadCalls.METHODS);
        try (ReadCalls reads = new ReadCalls()) {
            for (MethodDescriptor<?, ?> m : all) {
                if (ReadCalls.METHODS.contains(m.getBareMethodName())) {
                    assertNotNull(reads.getExecutor(call(m), new Metadata()), m.getFullMethodName());
                } else {
                    assertNull(reads.getExecutor(call(m), new Metadata()), m.getFullMethodName()
                            + " stays on the server's virtual threads");
                }
            }
            for (String lifecycle : List.of("RunPodSandbox", "CreateContainer", "StartContainer", "StopPodSandbox",
                    "RemoveContainer", "PullImage", "ExecSync", "ListContainerStats")) {
                assertTrue(names.contains(lifecycle) && !ReadCalls.isRead(lifecycle), lifecycle);
            }
        }
    }

    /**
     * A read is answered while every carrier of the virtual threads is held by lifecycle work in
     * native code (a wait for conmon, an fsync): it never waits for a lifecycle step to block.
     */
    @Test
    void aReadRunsWhileEveryVirtualThreadCarrierIsHeld() throws Exception {
        int carriers = Runtime.getRuntime().availableProcessors();
        List<Thread> lifecycle = new ArrayList<>();
        try (ReadCalls reads = new ReadCalls()) {
            for (int i = 0; i < carriers + 2; i++) {
                lifecycle.add(Thread.ofVirtual().start(() -> {
                    try {
                        int r = (int) POLL.invokeExact(MemorySegment.NULL, 0L, 2000);
                    } catch (Throwable t) {
                        throw new RuntimeException(t);
                    }
                }));
            }
            Thread.sleep(200);
            MethodDescriptor<?, ?> status = RuntimeServiceGrpc.getContainerStatusMethod();
            long t0 = System.nanoTime();
            CompletableFuture<Void> answered = new CompletableFuture<>();
            reads.getExecutor(call(status), new Metadata()).execute(() -> answered.complete(null));
            answered.get(10, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 500, "ContainerStatus waited " + ms + " ms behind lifecycle work");
        } finally {
            for (Thread t : lifecycle) {
                t.join();
            }
        }
    }
}
