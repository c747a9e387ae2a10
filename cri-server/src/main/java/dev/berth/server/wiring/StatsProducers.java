package dev.berth.server.wiring;

import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.runtime.stats.PodStatsReader;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** The pod usage reader behind PodSandboxStats and the pod metrics. */
@ApplicationScoped
public class StatsProducers {
    @Produces
    @Singleton
    PodStatsReader podStats(SandboxManager sandboxes, ContainerService containers, CgroupManager cgroups,
            dev.berth.linux.host.LinuxHost host) {
        return new PodStatsReader(sandboxes, containers, cgroups, host.procfs());
    }
}
