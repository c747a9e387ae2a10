package dev.berth.runtime.container;

/** What the pod lifecycle needs from the container side when a pod stops or goes away. */
public interface PodContainers {
    /** Stops every container of the pod (grace period in seconds, then SIGKILL); repeatable. */
    void stopAll(String sandboxId, long timeoutSeconds);

    /** Removes every container of the pod, running or not; repeatable. */
    void removeAll(String sandboxId);
}
