package dev.berth.server.rpc.sandbox;

import dev.berth.runtime.stats.PodStatsReader;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.PodSandboxStatsRequest;
import runtime.v1.PodSandboxStatsResponse;

/** PodSandboxStats: the pod cgroup's CPU, memory and processes, its network namespace's interfaces, its containers. */
@ApplicationScoped
public class PodSandboxStatsHandler {
    @Inject
    PodStatsReader stats;

    public PodSandboxStatsResponse handle(PodSandboxStatsRequest req) {
        return PodSandboxStatsResponse.newBuilder()
                .setStats(PodSandboxStatsMapper.stats(stats.one(req.getPodSandboxId()))).build();
    }
}
