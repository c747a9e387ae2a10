package dev.berth.server.rpc.sandbox;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import runtime.v1.PodSandboxMetrics;
import runtime.v1.StreamPodSandboxMetricsRequest;

/** StreamPodSandboxMetrics: ListPodSandboxMetrics' items, sent in chunks (RpcStream). */
@ApplicationScoped
public class StreamPodSandboxMetricsHandler {
    @Inject
    ListPodSandboxMetricsHandler list;

    public List<PodSandboxMetrics> items(StreamPodSandboxMetricsRequest req) {
        return list.items();
    }
}
