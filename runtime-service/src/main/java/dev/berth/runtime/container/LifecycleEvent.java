package dev.berth.runtime.container;

import runtime.v1.PodSandboxStatus;

/**
 * A container or pod sandbox changed state (GetContainerEvents). Sandbox events carry the sandbox
 * id as {@code containerId} (as containerd sends them and kubelet's evented PLEG reads them) and
 * the pod's status taken when it happened; container events carry the record as it was then.
 *
 * @param container the container's record at the event (null for sandbox events)
 * @param podStatus the pod's status at the event (sandbox events only; null otherwise)
 */
public record LifecycleEvent(Type type, String containerId, String podId, long atNanos, ContainerRecord container,
        PodSandboxStatus podStatus) {

    public enum Type { CREATED, STARTED, STOPPED, DELETED }

    public boolean sandbox() {
        return container == null;
    }

    public static LifecycleEvent ofContainer(Type type, ContainerRecord r) {
        return new LifecycleEvent(type, r.id(), r.podId(), now(), r, null);
    }

    public static LifecycleEvent ofSandbox(Type type, String podId, PodSandboxStatus status) {
        return new LifecycleEvent(type, podId, podId, now(), null, status);
    }

    private static long now() {
        java.time.Instant i = java.time.Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
