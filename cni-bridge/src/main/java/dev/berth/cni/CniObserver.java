package dev.berth.cni;

/** Told of every ADD and DEL run through the plugin chain (the daemon's metrics); must not block. */
@FunctionalInterface
public interface CniObserver {
    CniObserver NONE = (operation, nanos, failed) -> {};

    /** {@code operation} is "ADD" or "DEL"; {@code failed} when the run threw. */
    void ran(String operation, long nanos, boolean failed);
}
