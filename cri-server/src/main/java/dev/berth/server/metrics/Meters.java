package dev.berth.server.metrics;

import java.time.Duration;

/**
 * Every meter name berth publishes, in one place (Prometheus renders dots as underscores, adds
 * {@code _seconds} to timers and {@code _total} to counters). README, "Metrics", lists each one.
 */
public final class Meters {
    /** Timer per CRI method and gRPC status code: counts, latency histogram. */
    public static final String CRI_REQUESTS = "berth.cri.requests";
    /** Counter per CRI method and non-OK gRPC status code. */
    public static final String CRI_ERRORS = "berth.cri.errors";

    /** Counter of image pulls, tag result = success or the error kind. */
    public static final String IMAGE_PULLS = "berth.image.pulls";
    /** Counter of bytes downloaded from registries by finished pulls. */
    public static final String IMAGE_PULLED_BYTES = "berth.image.pulled.bytes";
    /** Gauge: PullImage calls running now. */
    public static final String IMAGE_PULLS_IN_PROGRESS = "berth.image.pulls.in.progress";
    /** Timer (histogram) of pull durations by result. */
    public static final String IMAGE_PULL_DURATION = "berth.image.pull.duration";
    /** Gauge: disk bytes used by the image store. */
    public static final String IMAGE_STORE_BYTES = "berth.image.store.bytes";
    /** Gauge: images in the store (not "count": a gauge named *_count reads as a histogram's count). */
    public static final String IMAGES = "berth.images";

    /** Counter of containers started, by runtime handler. */
    public static final String CONTAINER_STARTS = "berth.container.starts";
    /** Counter of containers the kernel OOM-killed, by runtime handler. */
    public static final String CONTAINER_OOM_KILLS = "berth.container.oom.kills";

    /** Timer (histogram) of CNI ADD and DEL runs through the plugin chain, by operation. */
    public static final String CNI_OPERATIONS = "berth.cni.operations";
    /** Counter of CNI ADD and DEL runs that failed, by operation. */
    public static final String CNI_ERRORS = "berth.cni.errors";

    /** Counter of GetContainerEvents subscribers dropped for not reading their events in time. */
    public static final String EVENT_SUBSCRIBERS_DROPPED = "berth.cri.events.subscribers.dropped";
    /** Counter of lifecycle events lost because the event dispatcher was that far behind. */
    public static final String EVENTS_DROPPED = "berth.cri.events.dropped";
    /** Gauge: GetContainerEvents streams open. */
    public static final String EVENT_SUBSCRIBERS = "berth.cri.events.subscribers";

    public static final String TAG_METHOD = "method";
    public static final String TAG_RESULT = "result";
    public static final String TAG_CODE = "code";
    public static final String TAG_HANDLER = "handler";
    public static final String TAG_OPERATION = "operation";

    /**
     * Histogram buckets of runtime calls (CRI methods, CNI): 1 ms to 2 min, about 2.5x apart, as
     * containerd's and CRI-O's few fixed buckets rather than Micrometer's 69 percentile buckets.
     */
    public static final Duration[] RUNTIME_BUCKETS = seconds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1, 2.5, 5, 10, 30, 60, 120);
    /** Histogram buckets of image pulls: 100 ms to 10 min. */
    public static final Duration[] PULL_BUCKETS = seconds(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600);

    private static Duration[] seconds(double... s) {
        Duration[] out = new Duration[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = Duration.ofNanos(Math.round(s[i] * 1e9));
        }
        return out;
    }

    private Meters() {}
}
