package dev.berth.server.metrics;

import dev.berth.cni.CniNetworks;
import dev.berth.cni.CniObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The daemon's runtime meters that are not per CRI call: container starts and OOM kills by
 * handler, CNI ADD/DEL durations and failures, pulls running now. Each method is a few atomic
 * updates: callers are CRI calls and the event dispatcher.
 */
@ApplicationScoped
public class RuntimeMeters implements CniObserver {
    @Inject
    MeterRegistry registry;

    @Inject
    CniNetworks cni;

    private final AtomicInteger pullsInProgress = new AtomicInteger();

    /** Registered at start so that a scrape shows them (at zero) before the first pull or pod. */
    void start(@Observes StartupEvent event) {
        Gauge.builder(Meters.IMAGE_PULLS_IN_PROGRESS, pullsInProgress, AtomicInteger::get)
                .description("PullImage calls running now").register(registry);
        for (String op : new String[] {"ADD", "DEL"}) {
            cniTimer(op);
            cniErrors(op);
        }
        cni.observe(this);
    }

    public void pullStarted() {
        pullsInProgress.incrementAndGet();
    }

    public void pullEnded() {
        pullsInProgress.decrementAndGet();
    }

    public void containerStarted(String handler) {
        Counter.builder(Meters.CONTAINER_STARTS).description("containers started, by runtime handler")
                .tag(Meters.TAG_HANDLER, handler).register(registry).increment();
    }

    public void containerOomKilled(String handler) {
        Counter.builder(Meters.CONTAINER_OOM_KILLS).description("containers the kernel OOM-killed, by runtime handler")
                .tag(Meters.TAG_HANDLER, handler).register(registry).increment();
    }

    @Override
    public void ran(String operation, long nanos, boolean failed) {
        cniTimer(operation).record(nanos, TimeUnit.NANOSECONDS);
        if (failed) {
            cniErrors(operation).increment();
        }
    }

    private Timer cniTimer(String op) {
        return Timer.builder(Meters.CNI_OPERATIONS).description("CNI ADD and DEL runs through the plugin chain")
                .tag(Meters.TAG_OPERATION, op).serviceLevelObjectives(Meters.RUNTIME_BUCKETS).register(registry);
    }

    private Counter cniErrors(String op) {
        return Counter.builder(Meters.CNI_ERRORS).description("CNI ADD and DEL runs that failed")
                .tag(Meters.TAG_OPERATION, op).register(registry);
    }
}
