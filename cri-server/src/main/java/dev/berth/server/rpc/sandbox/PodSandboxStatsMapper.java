package dev.berth.server.rpc.sandbox;

import dev.berth.linux.net.NetDevices;
import dev.berth.runtime.stats.PodUsage;
import dev.berth.server.rpc.container.ContainerStatsMapper;
import runtime.v1.LinuxPodSandboxStats;
import runtime.v1.NetworkInterfaceUsage;
import runtime.v1.NetworkUsage;
import runtime.v1.PodSandboxAttributes;
import runtime.v1.PodSandboxStats;
import runtime.v1.ProcessUsage;
import runtime.v1.UInt64Value;

/** berth's pod samples as CRI PodSandboxStats (Linux); figures the host cannot give are left unset. */
public final class PodSandboxStatsMapper {
    /** The interface kubelet treats as the pod's own (CNI's default). */
    static final String DEFAULT_INTERFACE = "eth0";

    private PodSandboxStatsMapper() {}

    public static PodSandboxStats stats(PodUsage u) {
        var p = u.pod();
        LinuxPodSandboxStats.Builder linux = LinuxPodSandboxStats.newBuilder()
                .setCpu(ContainerStatsMapper.cpu(u.timestampNanos(), u.cgroup(), u.nanoCores()))
                .setMemory(ContainerStatsMapper.memory(u.timestampNanos(), u.cgroup()));
        u.cgroup().processes().ifPresent(n -> linux.setProcess(ProcessUsage.newBuilder()
                .setTimestamp(u.timestampNanos()).setProcessCount(v(n))));
        if (!u.interfaces().isEmpty()) {
            NetworkUsage.Builder net = NetworkUsage.newBuilder().setTimestamp(u.timestampNanos());
            NetDevices.Counters def = u.interfaces().stream().filter(c -> c.name().equals(DEFAULT_INTERFACE))
                    .findFirst().orElse(u.interfaces().get(0));
            net.setDefaultInterface(iface(def));
            u.interfaces().forEach(c -> net.addInterfaces(iface(c)));
            linux.setNetwork(net);
        }
        u.containers().forEach(c -> linux.addContainers(ContainerStatsMapper.stats(c)));
        return PodSandboxStats.newBuilder()
                .setAttributes(PodSandboxAttributes.newBuilder().setId(p.getId()).setMetadata(p.getMetadata())
                        .putAllLabels(p.getLabelsMap()).putAllAnnotations(p.getAnnotationsMap()))
                .setLinux(linux)
                .build();
    }

    private static NetworkInterfaceUsage iface(NetDevices.Counters c) {
        return NetworkInterfaceUsage.newBuilder().setName(c.name()).setRxBytes(v(c.rxBytes()))
                .setRxErrors(v(c.rxErrors())).setTxBytes(v(c.txBytes())).setTxErrors(v(c.txErrors())).build();
    }

    private static UInt64Value v(long x) {
        return UInt64Value.newBuilder().setValue(x).build();
    }
}
