package dev.berth.server.rpc.container;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.container.ContainerService;
import dev.berth.server.rpc.RequestBounds;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.CreateContainerRequest;
import runtime.v1.CreateContainerResponse;

/** CreateContainer: CRI config to an OCI bundle on an overlay root, created by the runtime under conmon. */
@ApplicationScoped
public class CreateContainerHandler {
    @Inject
    ContainerService containers;

    public CreateContainerResponse handle(CreateContainerRequest req) {
        if (!req.hasConfig()) {
            throw BerthException.invalid("CreateContainer needs a config");
        }
        var c = req.getConfig();
        RequestBounds.name("CreateContainer", "pod_sandbox_id", req.getPodSandboxId());
        RequestBounds.name("CreateContainer", "metadata.name", c.getMetadata().getName());
        RequestBounds.map("CreateContainer", "labels", c.getLabelsMap());
        RequestBounds.map("CreateContainer", "annotations", c.getAnnotationsMap());
        String id = containers.create(req.getPodSandboxId(), req.getConfig());
        return CreateContainerResponse.newBuilder().setContainerId(id).build();
    }
}
