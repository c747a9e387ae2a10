package dev.berth.server.metrics;

/** Every meter name berth publishes, in one place (Prometheus renders dots as underscores). */
public final class Meters {
    /** Timer per CRI method and gRPC status code: counts, latency histogram. */
    public static final String CRI_REQUESTS = "berth.cri.requests";
    /** Counter per CRI method and non-OK gRPC status code. */
    public static final String CRI_ERRORS = "berth.cri.errors";

    /** Counter of image pulls, tag result = success or the error kind. */
    public static final String IMAGE_PULLS = "berth.image.pulls";
    /** Distribution of bytes downloaded per pull (its total is the bytes pulled). */
    public static final String IMAGE_PULL_BYTES = "berth.image.pull.bytes";
    /** Timer (histogram) of pull durations by result. */
    public static final String IMAGE_PULL_DURATION = "berth.image.pull.duration";
    /** Gauge: disk bytes used by the image store. */
    public static final String IMAGE_STORE_BYTES = "berth.image.store.bytes";
    /** Gauge: images in the store. */
    public static final String IMAGE_COUNT = "berth.image.count";

    /** Counter of GetContainerEvents subscribers dropped for not reading their events in time. */
    public static final String EVENT_SUBSCRIBERS_DROPPED = "berth.cri.events.subscribers.dropped";
    /** Counter of lifecycle events lost because the event dispatcher was that far behind. */
    public static final String EVENTS_DROPPED = "berth.cri.events.dropped";
    /** Gauge: GetContainerEvents streams open. */
    public static final String EVENT_SUBSCRIBERS = "berth.cri.events.subscribers";

    public static final String TAG_METHOD = "method";
    public static final String TAG_RESULT = "result";
    public static final String TAG_CODE = "code";

    private Meters() {}
}
