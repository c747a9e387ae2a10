package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemoveContainerResponse;

/** RemoveContainer: kills a running container and removes all of it; unknown ids succeed. */
@ApplicationScoped
public class RemoveContainerHandler {
    @Inject
    ContainerService containers;

    public RemoveContainerResponse handle(RemoveContainerRequest req) {
        containers.remove(Ids.present(req.getContainerId()));
        return RemoveContainerResponse.getDefaultInstance();
    }
}
