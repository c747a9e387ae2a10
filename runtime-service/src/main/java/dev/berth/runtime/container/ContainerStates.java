package dev.berth.runtime.container;

import runtime.v1.ContainerState;

/** berth's phases as CRI container states. */
public final class ContainerStates {
    private ContainerStates() {}

    public static ContainerState toCri(ContainerRecord.Phase p) {
        return switch (p) {
            case CREATED -> ContainerState.CONTAINER_CREATED;
            case RUNNING -> ContainerState.CONTAINER_RUNNING;
            case EXITED -> ContainerState.CONTAINER_EXITED;
            case CREATING, REMOVING -> ContainerState.CONTAINER_UNKNOWN;
        };
    }
}
