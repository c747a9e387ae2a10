package dev.berth.server.rpc.sandbox;

import dev.berth.runtime.stats.PodStatsReader;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import runtime.v1.ListPodSandboxStatsRequest;
import runtime.v1.ListPodSandboxStatsResponse;
import runtime.v1.PodSandboxStats;
import runtime.v1.PodSandboxStatsFilter;

/** ListPodSandboxStats: every ready pod's stats, with the id (prefix) and label-selector filters. */
@ApplicationScoped
public class ListPodSandboxStatsHandler {
    @Inject
    PodStatsReader stats;

    public ListPodSandboxStatsResponse handle(ListPodSandboxStatsRequest req) {
        return ListPodSandboxStatsResponse.newBuilder().addAllStats(items(req.getFilter())).build();
    }

    /** The items, shared with StreamPodSandboxStats. */
    public List<PodSandboxStats> items(PodSandboxStatsFilter f) {
        return stats.list(f.getId(), f.getLabelSelectorMap()).stream().map(PodSandboxStatsMapper::stats).toList();
    }
}
