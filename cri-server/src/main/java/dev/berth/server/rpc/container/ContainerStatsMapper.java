package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import java.util.OptionalLong;
import runtime.v1.ContainerAttributes;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerStats;
import runtime.v1.CpuUsage;
import runtime.v1.FilesystemIdentifier;
import runtime.v1.FilesystemUsage;
import runtime.v1.MemoryUsage;
import runtime.v1.UInt64Value;

/** berth's usage samples as CRI ContainerStats; figures the host cannot give are left unset. */
final class ContainerStatsMapper {
    private ContainerStatsMapper() {}

    static ContainerStats stats(ContainerService.Usage u) {
        var r = u.container();
        var cg = u.cgroup();
        CpuUsage.Builder cpu = CpuUsage.newBuilder().setTimestamp(u.timestampNanos())
                .setUsageCoreNanoSeconds(v(cg.cpuUsageNanos()));
        u.nanoCores().ifPresent(n -> cpu.setUsageNanoCores(v(n)));
        MemoryUsage.Builder mem = MemoryUsage.newBuilder().setTimestamp(u.timestampNanos());
        set(cg.workingSet(), x -> mem.setWorkingSetBytes(v(x)));
        set(cg.memoryUsage(), x -> mem.setUsageBytes(v(x)));
        set(cg.rss(), x -> mem.setRssBytes(v(x)));
        set(cg.available(), x -> mem.setAvailableBytes(v(x)));
        set(cg.pageFaults(), x -> mem.setPageFaults(v(x)));
        set(cg.majorPageFaults(), x -> mem.setMajorPageFaults(v(x)));
        return ContainerStats.newBuilder()
                .setAttributes(ContainerAttributes.newBuilder().setId(r.id())
                        .setMetadata(ContainerMetadata.newBuilder().setName(r.name()).setAttempt(r.attempt()))
                        .putAllLabels(r.labels()).putAllAnnotations(r.annotations()))
                .setCpu(cpu)
                .setMemory(mem)
                .setWritableLayer(FilesystemUsage.newBuilder().setTimestamp(u.timestampNanos())
                        .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(u.layer().toString()))
                        .setUsedBytes(v(u.layerBytes())).setInodesUsed(v(u.layerInodes())))
                .build();
    }

    private static UInt64Value v(long x) {
        return UInt64Value.newBuilder().setValue(x).build();
    }

    private static void set(OptionalLong o, java.util.function.LongConsumer c) {
        o.ifPresent(c);
    }
}
