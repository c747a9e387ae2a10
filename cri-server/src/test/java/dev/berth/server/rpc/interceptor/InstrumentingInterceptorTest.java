package dev.berth.server.rpc.interceptor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.server.memory.Bursts;
import dev.berth.server.metrics.Meters;
import dev.berth.server.rpc.FakeServerCall;
import dev.berth.server.rpc.Rpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.DefaultEventLoop;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerConfig;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.StopContainerRequest;

/** Every failed CRI call is logged exactly once, with its method, code and the ids it named. */
class InstrumentingInterceptorTest {
    final List<LogRecord> records = new ArrayList<>();
    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            records.add(record);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    // JBoss Logging writes to JBoss LogManager's context when it is on the class path, else to JUL
    final List<Logger> watched = List.of(Logger.getLogger(InstrumentingInterceptor.class.getName()),
            Logger.getLogger(Rpc.class.getName()),
            org.jboss.logmanager.LogContext.getSystemLogContext().getLogger(InstrumentingInterceptor.class.getName()),
            org.jboss.logmanager.LogContext.getSystemLogContext().getLogger(Rpc.class.getName()));

    @BeforeEach
    void watch() {
        watched.forEach(l -> l.addHandler(capture));
    }

    @AfterEach
    void unwatch() {
        watched.forEach(l -> l.removeHandler(capture));
    }

    <Q> Status call(MethodDescriptor<Q, ?> method, Q request, java.util.function.Supplier<Object> handler) {
        InstrumentingInterceptor i = new InstrumentingInterceptor();
        i.registry = new SimpleMeterRegistry();
        i.bursts = new Bursts();
        return call(i, method, request, handler);
    }

    <Q> Status call(InstrumentingInterceptor i, MethodDescriptor<Q, ?> method, Q request,
            java.util.function.Supplier<Object> handler) {
        FakeServerCall fake = new FakeServerCall(method);
        ServerCall.Listener<Object> l = i.interceptCall(fake, new Metadata(), (call, headers) ->
                new ServerCall.Listener<>() {
                    @Override
                    public void onHalfClose() {
                        // as grpc-java's unary handler: the handler answers through Rpc
                        Rpc.unary(new StreamObserver<Object>() {
                            @Override
                            public void onNext(Object value) {}

                            @Override
                            public void onError(Throwable t) {
                                call.close(Status.fromThrowable(t), new Metadata());
                            }

                            @Override
                            public void onCompleted() {
                                call.close(Status.OK, new Metadata());
                            }
                        }, handler);
                    }
                });
        l.onMessage(request);
        l.onHalfClose();
        return fake.closed();
    }

    @Test
    void aBugIsLoggedOnceWithItsStackTraceMethodCodeAndIds() {
        IllegalStateException bug = new IllegalStateException("boom");
        Status s = call(RuntimeServiceGrpc.getStopContainerMethod(),
                StopContainerRequest.newBuilder().setContainerId("c0ffee").build(), () -> {
                    throw bug;
                });
        assertEquals(Status.Code.INTERNAL, s.getCode());
        assertEquals(1, records.size(), records.stream().map(LogRecord::getMessage).toList().toString());
        LogRecord r = records.get(0);
        assertTrue(r.getMessage().startsWith("StopContainer failed: INTERNAL container_id=c0ffee: internal error"),
                r.getMessage());
        assertSame(bug, r.getThrown());
    }

    @Test
    void aDomainErrorNamesTheNestedIdsToo() {
        CreateContainerRequest req = CreateContainerRequest.newBuilder().setPodSandboxId("pod1")
                .setConfig(ContainerConfig.newBuilder()
                        .setMetadata(ContainerMetadata.newBuilder().setName("web"))
                        .setImage(ImageSpec.newBuilder().setImage("busybox:1")))
                .build();
        Status s = call(RuntimeServiceGrpc.getCreateContainerMethod(), req, () -> {
            throw BerthException.invalid("bad mount %s", "/x");
        });
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
        assertEquals(1, records.size());
        String m = records.get(0).getMessage();
        assertTrue(m.startsWith("CreateContainer failed: INVALID_ARGUMENT ") && m.contains("pod_sandbox_id=pod1")
                && m.contains("config.metadata.name=web") && m.contains("config.image.image=busybox:1")
                && m.endsWith(": bad mount /x"), m);
    }

    @Test
    void successIsNotAnError() {
        Status s = call(RuntimeServiceGrpc.getStopContainerMethod(),
                StopContainerRequest.newBuilder().setContainerId("c1").build(), () -> "ok");
        assertTrue(s.isOk());
        assertTrue(records.stream().noneMatch(r -> r.getMessage().contains("failed")), records.toString());
    }

    static long requests(MeterRegistry registry, String method, String code) {
        Timer t = registry.find(Meters.CRI_REQUESTS).tags(Meters.TAG_METHOD, method, Meters.TAG_CODE, code).timer();
        return t == null ? 0 : t.count();
    }

    @Test
    void eachMethodAndCodeKeepsOneHistogramAcrossCalls() {
        InstrumentingInterceptor i = new InstrumentingInterceptor();
        i.registry = new SimpleMeterRegistry();
        i.bursts = new Bursts();
        StopContainerRequest req = StopContainerRequest.newBuilder().setContainerId("c1").build();
        call(i, RuntimeServiceGrpc.getStopContainerMethod(), req, () -> "ok");
        call(i, RuntimeServiceGrpc.getStopContainerMethod(), req, () -> "ok");
        call(i, RuntimeServiceGrpc.getStopContainerMethod(), req, () -> {
            throw BerthException.notFound("container %s", "c1");
        });
        assertEquals(2, requests(i.registry, "StopContainer", "OK"));
        assertEquals(1, requests(i.registry, "StopContainer", "NOT_FOUND"));
        assertEquals(1.0, i.registry.find(Meters.CRI_ERRORS).tags(Meters.TAG_METHOD, "StopContainer",
                Meters.TAG_CODE, "NOT_FOUND").counter().count());
    }

    @Test
    void onTheTransportsEventLoopTheHistogramWaitsForTheAnswersWrite() throws Exception {
        // grpc-netty writes what close() queued in a later task of the same loop; the accounting
        // must come after that task, not hold the answer back
        InstrumentingInterceptor i = new InstrumentingInterceptor();
        i.registry = new SimpleMeterRegistry();
        i.bursts = new Bursts();
        DefaultEventLoop loop = new DefaultEventLoop();
        try {
            long[] duringTheCall = new long[1];
            Status s = loop.submit(() -> {
                Status st = call(i, RuntimeServiceGrpc.getStopContainerMethod(),
                        StopContainerRequest.newBuilder().setContainerId("c1").build(), () -> "ok");
                duringTheCall[0] = requests(i.registry, "StopContainer", "OK");
                return st;
            }).get(10, TimeUnit.SECONDS);
            long afterwards = loop.submit(() -> requests(i.registry, "StopContainer", "OK")).get(10, TimeUnit.SECONDS);
            assertTrue(s.isOk());
            assertEquals(0, duringTheCall[0]);
            assertEquals(1, afterwards);
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
