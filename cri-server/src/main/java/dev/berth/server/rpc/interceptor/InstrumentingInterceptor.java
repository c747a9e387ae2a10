package dev.berth.server.rpc.interceptor;

import dev.berth.server.memory.Bursts;
import dev.berth.server.metrics.Meters;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Times, counts and logs every CRI call: a latency histogram per method and status code, an error
 * counter per method and code, and exactly one log line for each failure, naming the method, the
 * code and the ids the request named (a bug's stack trace with it; DEBUG for each call). Nothing
 * else logs a failed call, so an error shows once. It also tells {@link Bursts} when a call starts
 * and ends, so the idle trim knows a burst from kubelet's polling.
 */
@ApplicationScoped
public class InstrumentingInterceptor implements ServerInterceptor {
    private static final Logger LOG = Logger.getLogger(InstrumentingInterceptor.class);

    @Inject
    MeterRegistry registry;

    @Inject
    Bursts bursts;

    // one meter per method and code, built once: Micrometer's builder sorts the tags, copies the
    // buckets and looks the meter up in the registry on every register()
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private final Map<String, Counter> errors = new ConcurrentHashMap<>();

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        long start = System.nanoTime();
        bursts.record(method);
        // the request, kept (unary calls have one) to name its ids when the call fails
        java.util.concurrent.atomic.AtomicReference<Object> request = new java.util.concurrent.atomic.AtomicReference<>();
        ServerCall<Q, A> timed = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                long nanos = System.nanoTime() - start;
                super.close(status, trailers);
                bursts.record(method);
                // The answer goes first. On the transport's event loop (where reads are answered)
                // close() only queues it, and the loop writes it after the current task: the
                // histogram and the log line wait for a task of their own behind that write.
                Runnable account = () -> account(method, status, nanos, request.get());
                EventExecutor loop = ThreadExecutorMap.currentExecutor();
                if (loop != null) {
                    loop.execute(account);
                } else {
                    account.run();
                }
            }
        };
        ServerCall.Listener<Q> listener = next.startCall(timed, headers);
        return new io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onMessage(Q message) {
                request.compareAndSet(null, message);
                super.onMessage(message);
            }
        };
    }

    /** Records one finished call: its latency, and for a failure the error counter and one log line. */
    private void account(String method, Status status, long nanos, Object request) {
        String code = status.getCode().name();
        String key = method + '/' + code;
        timers.computeIfAbsent(key, k -> Timer.builder(Meters.CRI_REQUESTS)
                        .description("CRI requests by method and gRPC status code")
                        .tags(Meters.TAG_METHOD, method, Meters.TAG_CODE, code)
                        .serviceLevelObjectives(Meters.RUNTIME_BUCKETS)
                        .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
        if (status.isOk()) {
            if (LOG.isDebugEnabled()) {
                LOG.debugf("%s ok in %d µs", method, nanos / 1000);
            }
            return;
        }
        errors.computeIfAbsent(key, k -> Counter.builder(Meters.CRI_ERRORS)
                        .description("CRI requests that failed, by method and gRPC status code")
                        .tags(Meters.TAG_METHOD, method, Meters.TAG_CODE, code)
                        .register(registry))
                .increment();
        String ids = RequestIds.of(request);
        String line = method + " failed: " + code + (ids.isEmpty() ? "" : " " + ids) + ": " + status.getDescription();
        if (status.getCode() == Status.Code.INTERNAL || status.getCode() == Status.Code.UNKNOWN) {
            LOG.error(line, status.getCause());
        } else if (status.getCode() == Status.Code.NOT_FOUND || status.getCode() == Status.Code.UNIMPLEMENTED) {
            // kubelet asks after what it removed itself, and for what berth lacks
            LOG.info(line);
        } else {
            LOG.warn(line);
        }
    }
}
