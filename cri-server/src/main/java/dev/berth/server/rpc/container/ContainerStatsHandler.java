package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Map;
import runtime.v1.ContainerStatsRequest;
import runtime.v1.ContainerStatsResponse;

/** ContainerStats: CPU, memory and writable-layer usage of one running container. */
@ApplicationScoped
public class ContainerStatsHandler {
    @Inject
    ContainerService containers;

    public ContainerStatsResponse handle(ContainerStatsRequest req) {
        String id = Ids.required(req.getContainerId());
        containers.status(id); // NOT_FOUND for unknown ids
        var usage = containers.usage(id, null, Map.of()).stream().filter(u -> u.container().id().equals(id))
                .findFirst().orElseThrow(() -> dev.berth.core.error.BerthException.precondition(
                        "container %s is not running; it has no usage", id));
        return ContainerStatsResponse.newBuilder().setStats(ContainerStatsMapper.stats(usage)).build();
    }
}
