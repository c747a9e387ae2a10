package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListContainersResponse;

/** ListContainers with the id, state, pod and label filters. */
@ApplicationScoped
public class ListContainersHandler {
    @Inject
    ContainerService containers;

    public ListContainersResponse handle(ListContainersRequest req) {
        ListContainersResponse.Builder out = ListContainersResponse.newBuilder();
        containers.list(req.hasFilter() ? req.getFilter() : null)
                .forEach(r -> out.addContainers(ContainerViews.container(r)));
        return out.build();
    }
}
