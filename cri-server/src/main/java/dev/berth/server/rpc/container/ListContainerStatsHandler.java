package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ListContainerStatsRequest;
import runtime.v1.ListContainerStatsResponse;

/** ListContainerStats with the id, pod and label filters. */
@ApplicationScoped
public class ListContainerStatsHandler {
    @Inject
    ContainerService containers;

    public ListContainerStatsResponse handle(ListContainerStatsRequest req) {
        var f = req.getFilter();
        ListContainerStatsResponse.Builder out = ListContainerStatsResponse.newBuilder();
        containers.usage(f.getId(), f.getPodSandboxId(), f.getLabelSelectorMap())
                .forEach(u -> out.addStats(ContainerStatsMapper.stats(u)));
        return out.build();
    }
}
