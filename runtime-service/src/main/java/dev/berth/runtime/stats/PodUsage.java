package dev.berth.runtime.stats;

import dev.berth.linux.net.NetDevices;
import dev.berth.runtime.cgroup.CgroupStats;
import dev.berth.runtime.container.ContainerService;
import java.util.List;
import java.util.OptionalLong;
import runtime.v1.PodSandbox;

/**
 * One sample of a ready pod: its cgroup's figures (which include every container's), the CPU rate
 * since the previous sample of the pod, the interfaces of its network namespace (empty for a
 * host-network pod) and each container's own sample.
 */
public record PodUsage(PodSandbox pod, String cgroupPath, long timestampNanos, CgroupStats cgroup,
        OptionalLong nanoCores, List<NetDevices.Counters> interfaces, List<ContainerService.Usage> containers) {}
