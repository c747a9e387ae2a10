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
import runtime.v1.SwapUsage;
import runtime.v1.UInt64Value;

/** berth's usage samples as CRI ContainerStats; figures the host cannot give are left unset. */
public final class ContainerStatsMapper {
    private ContainerStatsMapper() {}

    public static ContainerStats stats(ContainerService.Usage u) {
        var r = u.container();
        var cg = u.cgroup();
        CpuUsage cpu = cpu(u.timestampNanos(), cg, u.nanoCores());
        MemoryUsage mem = memory(u.timestampNanos(), cg);
        ContainerStats.Builder out = ContainerStats.newBuilder();
        if (cg.swapUsage().isPresent()) {
            SwapUsage.Builder swap = SwapUsage.newBuilder().setTimestamp(u.timestampNanos())
                    .setSwapUsageBytes(v(cg.swapUsage().getAsLong()));
            set(cg.swapAvailable(), x -> swap.setSwapAvailableBytes(v(x)));
            out.setSwap(swap);
        }
        return out
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

    /** CPU figures of a cgroup sample (shared with the pod's). */
    public static CpuUsage cpu(long timestampNanos, dev.berth.runtime.cgroup.CgroupStats cg, OptionalLong nanoCores) {
        CpuUsage.Builder cpu = CpuUsage.newBuilder().setTimestamp(timestampNanos)
                .setUsageCoreNanoSeconds(v(cg.cpuUsageNanos()));
        nanoCores.ifPresent(n -> cpu.setUsageNanoCores(v(n)));
        return cpu.build();
    }

    /** Memory figures of a cgroup sample; those the host cannot give stay unset. */
    public static MemoryUsage memory(long timestampNanos, dev.berth.runtime.cgroup.CgroupStats cg) {
        MemoryUsage.Builder mem = MemoryUsage.newBuilder().setTimestamp(timestampNanos);
        set(cg.workingSet(), x -> mem.setWorkingSetBytes(v(x)));
        set(cg.memoryUsage(), x -> mem.setUsageBytes(v(x)));
        set(cg.rss(), x -> mem.setRssBytes(v(x)));
        set(cg.available(), x -> mem.setAvailableBytes(v(x)));
        set(cg.pageFaults(), x -> mem.setPageFaults(v(x)));
        set(cg.majorPageFaults(), x -> mem.setMajorPageFaults(v(x)));
        return mem.build();
    }

    private static UInt64Value v(long x) {
        return UInt64Value.newBuilder().setValue(x).build();
    }

    private static void set(OptionalLong o, java.util.function.LongConsumer c) {
        o.ifPresent(c);
    }
}
