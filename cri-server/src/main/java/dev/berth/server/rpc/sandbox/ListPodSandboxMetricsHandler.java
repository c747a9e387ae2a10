package dev.berth.server.rpc.sandbox;

import dev.berth.runtime.stats.PodStatsReader;
import dev.berth.server.metrics.CadvisorMetrics;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import runtime.v1.ListPodSandboxMetricsRequest;
import runtime.v1.ListPodSandboxMetricsResponse;
import runtime.v1.PodSandboxMetrics;

/** ListPodSandboxMetrics: cAdvisor metrics of every ready pod and its containers, from the stats readers. */
@ApplicationScoped
public class ListPodSandboxMetricsHandler {
    @Inject
    PodStatsReader stats;

    public ListPodSandboxMetricsResponse handle(ListPodSandboxMetricsRequest req) {
        return ListPodSandboxMetricsResponse.newBuilder().addAllPodMetrics(items()).build();
    }

    /** The items, shared with StreamPodSandboxMetrics. */
    public List<PodSandboxMetrics> items() {
        return stats.list("", Map.of()).stream().map(CadvisorMetrics::pod).toList();
    }
}
