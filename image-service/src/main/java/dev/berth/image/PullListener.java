package dev.berth.image;

import java.time.Duration;

/** Told about every finished pull; cri-server turns this into metrics. */
public interface PullListener {
    PullListener NONE = (result, bytes, duration) -> {};

    /**
     * @param result "success" or the failure's error kind in lower case ("not_found", "unauthenticated", ...)
     * @param bytes bytes downloaded from registries by this pull
     */
    void pullFinished(String result, long bytes, Duration duration);
}
