package dev.berth.server.metrics;

/** Every meter name berth publishes, in one place (Prometheus renders dots as underscores). */
public final class Meters {
    /** Timer per CRI method and gRPC status code: counts, latency histogram. */
    public static final String CRI_REQUESTS = "berth.cri.requests";
    /** Counter per CRI method and non-OK gRPC status code. */
    public static final String CRI_ERRORS = "berth.cri.errors";

    public static final String TAG_METHOD = "method";
    public static final String TAG_CODE = "code";

    private Meters() {}
}
