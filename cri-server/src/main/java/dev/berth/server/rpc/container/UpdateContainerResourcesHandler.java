package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.UpdateContainerResourcesRequest;
import runtime.v1.UpdateContainerResourcesResponse;

/** UpdateContainerResources: new cgroup v2 limits for a running container. */
@ApplicationScoped
public class UpdateContainerResourcesHandler {
    @Inject
    ContainerService containers;

    public UpdateContainerResourcesResponse handle(UpdateContainerResourcesRequest req) {
        containers.updateResources(Ids.required(req.getContainerId()), req.getLinux());
        return UpdateContainerResourcesResponse.getDefaultInstance();
    }
}
