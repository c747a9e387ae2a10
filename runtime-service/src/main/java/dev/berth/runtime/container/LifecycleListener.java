package dev.berth.runtime.container;

/**
 * Told of every {@link LifecycleEvent}, in order per container, by the thread that made the
 * change while it holds the container's (or pod's) lock. It must return at once: it runs inside
 * CRI calls.
 */
@FunctionalInterface
public interface LifecycleListener {
    LifecycleListener NONE = e -> {};

    void on(LifecycleEvent event);
}
