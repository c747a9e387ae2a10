package dev.berth.server.rpc.sandbox;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import runtime.v1.PodSandboxStats;
import runtime.v1.StreamPodSandboxStatsRequest;

/** StreamPodSandboxStats: ListPodSandboxStats' items with the same filter, sent in chunks (RpcStream). */
@ApplicationScoped
public class StreamPodSandboxStatsHandler {
    @Inject
    ListPodSandboxStatsHandler list;

    public List<PodSandboxStats> items(StreamPodSandboxStatsRequest req) {
        return list.items(req.getFilter());
    }
}
