/**
 * Usage samples of pods for PodSandboxStats and the pod metrics: {@link dev.berth.runtime.stats.PodStatsReader}
 * combines the pod cgroup's figures ({@link dev.berth.runtime.cgroup.CgroupStats}), the pod network
 * namespace's interface counters ({@link dev.berth.linux.net.NetDevices}) and the containers' own samples.
 */
package dev.berth.runtime.stats;
