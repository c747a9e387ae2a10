package dev.berth.server.metrics;

import dev.berth.linux.net.NetDevices;
import dev.berth.runtime.cgroup.CgroupStats;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.stats.PodUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Function;
import runtime.v1.ContainerMetrics;
import runtime.v1.Metric;
import runtime.v1.MetricDescriptor;
import runtime.v1.MetricType;
import runtime.v1.PodSandboxMetrics;
import runtime.v1.UInt64Value;

/**
 * The cAdvisor metrics kubelet serves at /metrics/cadvisor, computed from the same samples as
 * PodSandboxStats/ContainerStats (ListMetricDescriptors, ListPodSandboxMetrics). Names, help texts
 * and label keys follow cAdvisor; a figure the host cannot give (no memory controller, no cpu
 * controller for throttling) is left out rather than sent as zero. The CRI value is an unsigned
 * integer and kubelet exposes it unchanged, so the *_seconds_total figures are whole seconds (as
 * CRI-O sends them); finer CPU figures are in PodSandboxStats/ContainerStats.
 */
public final class CadvisorMetrics {
    /** Labels of every series: as cAdvisor with kubelet's pod labels. */
    static final List<String> LABELS = List.of("container", "id", "image", "name", "namespace", "pod");

    private record Def(String name, String help, MetricType type, List<String> extraLabels) {
        MetricDescriptor descriptor() {
            List<String> keys = new ArrayList<>(LABELS);
            keys.addAll(extraLabels);
            return MetricDescriptor.newBuilder().setName(name).setHelp(help).addAllLabelKeys(keys).build();
        }
    }

    private static Def counter(String name, String help, String... extra) {
        return new Def(name, help, MetricType.COUNTER, List.of(extra));
    }

    private static Def gauge(String name, String help, String... extra) {
        return new Def(name, help, MetricType.GAUGE, List.of(extra));
    }

    static final Def CPU_USAGE = counter("container_cpu_usage_seconds_total",
            "Cumulative cpu time consumed in seconds.");
    static final Def CPU_USER = counter("container_cpu_user_seconds_total",
            "Cumulative user cpu time consumed in seconds.");
    static final Def CPU_SYSTEM = counter("container_cpu_system_seconds_total",
            "Cumulative system cpu time consumed in seconds.");
    static final Def CFS_PERIODS = counter("container_cpu_cfs_periods_total",
            "Number of elapsed enforcement period intervals.");
    static final Def CFS_THROTTLED_PERIODS = counter("container_cpu_cfs_throttled_periods_total",
            "Number of throttled period intervals.");
    static final Def CFS_THROTTLED_SECONDS = counter("container_cpu_cfs_throttled_seconds_total",
            "Total time duration the container has been throttled.");
    static final Def MEM_USAGE = gauge("container_memory_usage_bytes",
            "Current memory usage in bytes, including all memory regardless of when it was accessed");
    static final Def MEM_WORKING_SET = gauge("container_memory_working_set_bytes",
            "Current working set in bytes.");
    static final Def MEM_RSS = gauge("container_memory_rss", "Size of RSS in bytes.");
    static final Def MEM_CACHE = gauge("container_memory_cache", "Number of bytes of page cache memory.");
    static final Def MEM_MAPPED = gauge("container_memory_mapped_file",
            "Size of memory mapped files in bytes.");
    static final Def MEM_SWAP = gauge("container_memory_swap", "Container swap usage in bytes.");
    static final Def MEM_FAILURES = counter("container_memory_failures_total",
            "Cumulative count of memory allocation failures.", "failure_type", "scope");
    static final Def MEM_LIMIT = gauge("container_spec_memory_limit_bytes", "Memory limit for the container.");
    static final Def PROCESSES = gauge("container_processes", "Number of processes running inside the container.");
    static final Def FS_USAGE = gauge("container_fs_usage_bytes",
            "Number of bytes that are consumed by the container on this filesystem.", "device");
    static final Def FS_INODES = gauge("container_fs_inodes_total",
            "Number of Inodes", "device");
    static final Def START_TIME = gauge("container_start_time_seconds",
            "Start time of the container since unix epoch in seconds.");
    static final Def NET_RX_BYTES = counter("container_network_receive_bytes_total",
            "Cumulative count of bytes received", "interface");
    static final Def NET_RX_PACKETS = counter("container_network_receive_packets_total",
            "Cumulative count of packets received", "interface");
    static final Def NET_RX_DROPPED = counter("container_network_receive_packets_dropped_total",
            "Cumulative count of packets dropped while receiving", "interface");
    static final Def NET_RX_ERRORS = counter("container_network_receive_errors_total",
            "Cumulative count of errors encountered while receiving", "interface");
    static final Def NET_TX_BYTES = counter("container_network_transmit_bytes_total",
            "Cumulative count of bytes transmitted", "interface");
    static final Def NET_TX_PACKETS = counter("container_network_transmit_packets_total",
            "Cumulative count of packets transmitted", "interface");
    static final Def NET_TX_DROPPED = counter("container_network_transmit_packets_dropped_total",
            "Cumulative count of packets dropped while transmitting", "interface");
    static final Def NET_TX_ERRORS = counter("container_network_transmit_errors_total",
            "Cumulative count of errors encountered while transmitting", "interface");

    static final List<Def> ALL = List.of(CPU_USAGE, CPU_USER, CPU_SYSTEM, CFS_PERIODS, CFS_THROTTLED_PERIODS,
            CFS_THROTTLED_SECONDS, MEM_USAGE, MEM_WORKING_SET, MEM_RSS, MEM_CACHE, MEM_MAPPED, MEM_SWAP,
            MEM_FAILURES, MEM_LIMIT, PROCESSES, FS_USAGE, FS_INODES, START_TIME, NET_RX_BYTES, NET_RX_PACKETS,
            NET_RX_DROPPED, NET_RX_ERRORS, NET_TX_BYTES, NET_TX_PACKETS, NET_TX_DROPPED, NET_TX_ERRORS);

    private CadvisorMetrics() {}

    /** ListMetricDescriptors: one per metric name berth may send. */
    public static List<MetricDescriptor> descriptors() {
        return ALL.stream().map(Def::descriptor).toList();
    }

    /** One pod's metrics: the pod cgroup's and its network's, then each container's. */
    public static PodSandboxMetrics pod(PodUsage u) {
        String podName = u.pod().getMetadata().getName();
        String namespace = u.pod().getMetadata().getNamespace();
        long ts = u.timestampNanos();
        Series pod = new Series(ts, List.of("", u.cgroupPath(), "", "", namespace, podName));
        cgroup(pod, u.cgroup());
        for (NetDevices.Counters c : u.interfaces()) {
            pod.add(NET_RX_BYTES, c.rxBytes(), c.name());
            pod.add(NET_RX_PACKETS, c.rxPackets(), c.name());
            pod.add(NET_RX_DROPPED, c.rxDropped(), c.name());
            pod.add(NET_RX_ERRORS, c.rxErrors(), c.name());
            pod.add(NET_TX_BYTES, c.txBytes(), c.name());
            pod.add(NET_TX_PACKETS, c.txPackets(), c.name());
            pod.add(NET_TX_DROPPED, c.txDropped(), c.name());
            pod.add(NET_TX_ERRORS, c.txErrors(), c.name());
        }
        PodSandboxMetrics.Builder out = PodSandboxMetrics.newBuilder().setPodSandboxId(u.pod().getId())
                .addAllMetrics(pod.metrics);
        for (ContainerService.Usage c : u.containers()) {
            var r = c.container();
            Series s = new Series(c.timestampNanos(), List.of(r.name(), r.cgroup(), r.image(), r.id(), namespace,
                    podName));
            cgroup(s, c.cgroup());
            s.add(FS_USAGE, c.layerBytes(), c.layer().toString());
            s.add(FS_INODES, c.layerInodes(), c.layer().toString());
            if (r.startedAt() > 0) {
                s.add(START_TIME, r.startedAt() / 1_000_000_000L);
            }
            out.addContainerMetrics(ContainerMetrics.newBuilder().setContainerId(r.id()).addAllMetrics(s.metrics));
        }
        return out.build();
    }

    private static void cgroup(Series s, CgroupStats cg) {
        s.add(CPU_USAGE, cg.cpuUsageNanos() / 1_000_000_000L);
        s.add(CPU_USER, cg.cpu().userNanos() / 1_000_000_000L);
        s.add(CPU_SYSTEM, cg.cpu().systemNanos() / 1_000_000_000L);
        s.add(CFS_PERIODS, cg.cpu().periods());
        s.add(CFS_THROTTLED_PERIODS, cg.cpu().throttledPeriods());
        s.add(CFS_THROTTLED_SECONDS, map(cg.cpu().throttledNanos(), n -> n / 1_000_000_000L));
        s.add(MEM_USAGE, cg.memoryUsage());
        s.add(MEM_WORKING_SET, cg.workingSet());
        s.add(MEM_RSS, cg.rss());
        s.add(MEM_CACHE, cg.memory().cache());
        s.add(MEM_MAPPED, cg.memory().mappedFile());
        s.add(MEM_SWAP, cg.swapUsage());
        s.add(MEM_LIMIT, cg.memory().limit());
        cg.pageFaults().ifPresent(n -> s.add(MEM_FAILURES, n, "pgfault", "container"));
        cg.majorPageFaults().ifPresent(n -> s.add(MEM_FAILURES, n, "pgmajfault", "container"));
        s.add(PROCESSES, cg.processes());
    }

    private static OptionalLong map(OptionalLong o, Function<Long, Long> f) {
        return o.isPresent() ? OptionalLong.of(f.apply(o.getAsLong())) : OptionalLong.empty();
    }

    /** Metrics of one label set (a pod or a container). */
    private static final class Series {
        final long ts;
        final List<String> labels;
        final List<Metric> metrics = new ArrayList<>();

        Series(long ts, List<String> labels) {
            this.ts = ts;
            this.labels = labels;
        }

        void add(Def d, OptionalLong v, String... extra) {
            v.ifPresent(x -> add(d, x, extra));
        }

        void add(Def d, long v, String... extra) {
            metrics.add(Metric.newBuilder().setName(d.name()).setTimestamp(ts).setMetricType(d.type())
                    .addAllLabelValues(labels).addAllLabelValues(List.of(extra))
                    .setValue(UInt64Value.newBuilder().setValue(Math.max(0, v))).build());
        }
    }
}
