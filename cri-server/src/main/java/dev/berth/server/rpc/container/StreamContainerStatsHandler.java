package dev.berth.server.rpc.container;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import runtime.v1.ContainerStats;
import runtime.v1.ListContainerStatsRequest;
import runtime.v1.StreamContainerStatsRequest;

/** StreamContainerStats: ListContainerStats' items with the same filter, sent in chunks (RpcStream). */
@ApplicationScoped
public class StreamContainerStatsHandler {
    @Inject
    ListContainerStatsHandler list;

    public List<ContainerStats> items(StreamContainerStatsRequest req) {
        ListContainerStatsRequest.Builder l = ListContainerStatsRequest.newBuilder();
        if (req.hasFilter()) {
            l.setFilter(req.getFilter());
        }
        return list.handle(l.build()).getStatsList();
    }
}
