package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.CheckpointContainerRequest;
import runtime.v1.CheckpointContainerResponse;

/**
 * CheckpointContainer: a checkpoint archive of the running container at {@code location} (the
 * container keeps running); FAILED_PRECONDITION naming CRIU's reason where CRIU cannot work.
 */
@ApplicationScoped
public class CheckpointContainerHandler {
    @Inject
    ContainerService containers;

    public CheckpointContainerResponse handle(CheckpointContainerRequest req) {
        containers.checkpoint(Ids.required(req.getContainerId()), req.getLocation(), req.getTimeout());
        return CheckpointContainerResponse.getDefaultInstance();
    }
}
