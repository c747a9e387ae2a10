package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.StartContainerRequest;
import runtime.v1.StartContainerResponse;

/** StartContainer: starts a created container's process. */
@ApplicationScoped
public class StartContainerHandler {
    @Inject
    ContainerService containers;

    public StartContainerResponse handle(StartContainerRequest req) {
        containers.start(Ids.required(req.getContainerId()));
        return StartContainerResponse.getDefaultInstance();
    }
}
