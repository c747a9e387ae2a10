package dev.berth.runtime.sandbox;

import java.util.Optional;

/** How the container side finds the pod a container belongs to. */
public interface SandboxLookup {
    Optional<SandboxView> find(String sandboxId);

    /**
     * The pod, held shared until the returned hold is closed: the pod's lifecycle steps (stop,
     * remove) wait for it, so a container being created cannot be missed by a RemovePodSandbox.
     * Empty when there is no such pod. A lookup without lifecycle holds nothing.
     */
    default Optional<Held> hold(String sandboxId) {
        return find(sandboxId).map(v -> new Held(v, () -> {}));
    }

    /** A pod held by {@link #hold}; closing it lets the pod's lifecycle go on. */
    record Held(SandboxView view, Runnable release) implements AutoCloseable {
        @Override
        public void close() {
            release.run();
        }
    }
}
