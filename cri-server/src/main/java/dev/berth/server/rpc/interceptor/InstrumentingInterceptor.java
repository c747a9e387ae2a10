package dev.berth.server.rpc.interceptor;

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
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

/**
 * Times, counts and logs every CRI call: a latency histogram per method and status code, an error
 * counter per method and code, and a log line for each failure (DEBUG for each call).
 */
@ApplicationScoped
public class InstrumentingInterceptor implements ServerInterceptor {
    private static final Logger LOG = Logger.getLogger(InstrumentingInterceptor.class);

    @Inject
    MeterRegistry registry;

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        long start = System.nanoTime();
        ServerCall<Q, A> timed = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                long nanos = System.nanoTime() - start;
                String code = status.getCode().name();
                Timer.builder(Meters.CRI_REQUESTS)
                        .description("CRI requests by method and gRPC status code")
                        .tags(Meters.TAG_METHOD, method, Meters.TAG_CODE, code)
                        .serviceLevelObjectives(Meters.RUNTIME_BUCKETS)
                        .register(registry)
                        .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
                if (!status.isOk()) {
                    Counter.builder(Meters.CRI_ERRORS)
                            .description("CRI requests that failed, by method and gRPC status code")
                            .tags(Meters.TAG_METHOD, method, Meters.TAG_CODE, code)
                            .register(registry)
                            .increment();
                    if (status.getCode() != Status.Code.UNIMPLEMENTED && status.getCode() != Status.Code.NOT_FOUND) {
                        LOG.warnf("%s failed: %s %s", method, code, status.getDescription());
                    } else {
                        LOG.debugf("%s: %s %s", method, code, status.getDescription());
                    }
                } else if (LOG.isDebugEnabled()) {
                    LOG.debugf("%s ok in %d µs", method, nanos / 1000);
                }
                super.close(status, trailers);
            }
        };
        return next.startCall(timed, headers);
    }
}
