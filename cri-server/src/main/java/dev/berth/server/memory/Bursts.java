package dev.berth.server.memory;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Tells a burst from kubelet's steady polling: counts the starts and ends of the CRI calls that
 * change pods, containers or images. Lists, statuses, stats, probes (ExecSync) and streaming come
 * every few seconds on a node and are not counted, so a daemon whose counter stood still for a
 * while is quiet however often kubelet polls it ({@link IdleHeapTrim}).
 */
@ApplicationScoped
public class Bursts {
    /** The CRI methods (bare names) that change state: each is part of a burst. */
    static final Set<String> CHANGES = Set.of("RunPodSandbox", "StopPodSandbox", "RemovePodSandbox",
            "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer", "UpdateContainerResources",
            "UpdatePodSandboxResources", "CheckpointContainer", "PullImage", "RemoveImage");

    private final AtomicLong events = new AtomicLong();

    /** A call started or ended (the interceptor calls this for every call; polls are ignored). */
    public void record(String bareMethodName) {
        if (CHANGES.contains(bareMethodName)) {
            events.incrementAndGet();
        }
    }

    /** Starts plus ends of state-changing calls so far: unchanged across a period means quiet. */
    public long events() {
        return events.get();
    }
}
