package dev.berth.conformance.wholecri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerStats;
import runtime.v1.ContainerStatsRequest;
import runtime.v1.ListPodSandboxStatsRequest;
import runtime.v1.NetworkInterfaceUsage;
import runtime.v1.PodSandboxStats;
import runtime.v1.PodSandboxStatsFilter;
import runtime.v1.PodSandboxStatsRequest;
import runtime.v1.PodSandboxStatusRequest;

/**
 * PodSandboxStats and ListPodSandboxStats through CRI: the pod cgroup's CPU moves while a
 * container burns CPU, memory moves when one allocates (where the host's cgroup v2 has the memory
 * controller; otherwise the figures are absent, not zero), the network counters of the pod's eth0
 * move with traffic to the pod's IP, and the containers' own stats (writable layer included) are
 * inside.
 */
class PodStatsTest {
    static WholeCriFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = WholeCriFixture.start("podstats");
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    PodSandboxStats stats(String pod) {
        return f.rt().podSandboxStats(PodSandboxStatsRequest.newBuilder().setPodSandboxId(pod).build()).getStats();
    }

    @Test
    void cpuMemoryProcessesAndContainersMove() throws Exception {
        var pod = f.pod("burner", false, Map.of("app", "burner"));
        try {
            String burn = f.run(pod, "burn", "while :; do :; done");
            String idle = f.run(pod, "idle", "sleep 3600");
            PodSandboxStats first = stats(pod.id());
            Thread.sleep(1500);
            PodSandboxStats second = stats(pod.id());
            var cpu1 = first.getLinux().getCpu();
            var cpu2 = second.getLinux().getCpu();
            assertTrue(cpu2.getTimestamp() > cpu1.getTimestamp());
            long used = cpu2.getUsageCoreNanoSeconds().getValue() - cpu1.getUsageCoreNanoSeconds().getValue();
            assertTrue(used > 300_000_000L, "a busy loop used " + used + " ns of CPU in 1.5 s");
            assertTrue(cpu2.hasUsageNanoCores() && cpu2.getUsageNanoCores().getValue() > 200_000_000L,
                    "rate over the interval: " + cpu2);
            assertTrue(second.getLinux().getProcess().getProcessCount().getValue() >= 2,
                    second.getLinux().getProcess().toString());
            assertEquals(pod.id(), second.getAttributes().getId());
            assertEquals("burner", second.getAttributes().getMetadata().getName());
            assertEquals("burner", second.getAttributes().getLabelsOrThrow("app"));
            List<String> ids = second.getLinux().getContainersList().stream().map(c -> c.getAttributes().getId())
                    .sorted().toList();
            assertEquals(List.of(burn, idle).stream().sorted().toList(), ids);
            ContainerStats burnStats = second.getLinux().getContainersList().stream()
                    .filter(c -> c.getAttributes().getId().equals(burn)).findFirst().orElseThrow();
            assertTrue(burnStats.getCpu().getUsageCoreNanoSeconds().getValue() > 0);

            // the writable layer grows by what a container writes
            long before = f.rt().containerStats(ContainerStatsRequest.newBuilder().setContainerId(idle).build())
                    .getStats().getWritableLayer().getUsedBytes().getValue();
            f.exec(idle, "dd", "if=/dev/zero", "of=/written", "bs=1024", "count=2048");
            var after = f.rt().containerStats(ContainerStatsRequest.newBuilder().setContainerId(idle).build())
                    .getStats();
            assertTrue(after.getWritableLayer().getUsedBytes().getValue() >= before + 2048 * 1024,
                    after.getWritableLayer().toString());
            assertTrue(after.getWritableLayer().getInodesUsed().getValue() >= 2);

            if (f.hasController("memory")) {
                long ws1 = stats(pod.id()).getLinux().getMemory().getWorkingSetBytes().getValue();
                f.exec(idle, "sh", "-c", "mkdir -p /dev/shm/x && dd if=/dev/zero of=/dev/shm/x/f bs=1M count=32");
                var mem = stats(pod.id()).getLinux().getMemory();
                assertTrue(mem.getWorkingSetBytes().getValue() >= ws1 + 24L * 1024 * 1024, mem.toString());
                assertTrue(mem.getUsageBytes().getValue() >= mem.getWorkingSetBytes().getValue());
                assertTrue(mem.hasPageFaults());
            } else {
                // no memory controller on this host's cgroup v2: absent rather than a made-up zero
                assertFalse(second.getLinux().getMemory().hasWorkingSetBytes(), second.getLinux().getMemory().toString());
            }
        } finally {
            f.removePod(pod.id());
        }
    }

    @Test
    void networkCountersMoveWithTrafficToThePod() throws Exception {
        var pod = f.pod("talker", false, Map.of());
        try {
            String ip = f.rt().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod.id())
                    .build()).getStatus().getNetwork().getIp();
            f.run(pod, "sink", "sleep 3600 | nc -l -p 8080 > /dev/null; sleep 3600");
            NetworkInterfaceUsage before = stats(pod.id()).getLinux().getNetwork().getDefaultInterface();
            assertEquals("eth0", before.getName());
            // 256 KiB over TCP from the host's network namespace to the pod's own IP
            send(ip, 8080, 256 * 1024);
            var net = stats(pod.id()).getLinux().getNetwork();
            NetworkInterfaceUsage after = net.getDefaultInterface();
            assertTrue(after.getRxBytes().getValue() >= before.getRxBytes().getValue() + 256 * 1024,
                    before + " -> " + after);
            assertTrue(after.getTxBytes().getValue() > before.getTxBytes().getValue(), "ACKs went back: "
                    + before + " -> " + after);
            assertTrue(net.getInterfacesList().stream().anyMatch(i -> i.getName().equals("eth0")));
            assertTrue(net.getTimestamp() > 0);
        } finally {
            f.removePod(pod.id());
        }
    }

    @Test
    void listFiltersByIdAndLabelsAndSkipsStoppedPods() throws Exception {
        var a = f.pod("list-a", true, Map.of("tier", "front"));
        var b = f.pod("list-b", true, Map.of("tier", "back"));
        var c = f.pod("list-c", true, Map.of("tier", "front"));
        try {
            f.rt().stopPodSandbox(runtime.v1.StopPodSandboxRequest.newBuilder().setPodSandboxId(c.id()).build());
            List<String> all = ids(PodSandboxStatsFilter.getDefaultInstance());
            assertTrue(all.contains(a.id()) && all.contains(b.id()) && !all.contains(c.id()), all.toString());
            assertEquals(List.of(a.id()), ids(PodSandboxStatsFilter.newBuilder().putLabelSelector("tier", "front")
                    .build()));
            assertEquals(List.of(b.id()), ids(PodSandboxStatsFilter.newBuilder().setId(b.id().substring(0, 12))
                    .build()));
            // host-network pods report no network of their own
            assertFalse(stats(a.id()).getLinux().hasNetwork());
            StatusRuntimeException stopped = assertThrows(StatusRuntimeException.class, () -> stats(c.id()));
            assertEquals(Status.Code.FAILED_PRECONDITION, stopped.getStatus().getCode());
            StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class, () -> stats("00ff00"));
            assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
        } finally {
            f.removePod(a.id());
            f.removePod(b.id());
            f.removePod(c.id());
        }
    }

    @Test
    void cadvisorMetricsFromTheSameReaders() throws Exception {
        var pod = f.pod("metered", false, Map.of());
        try {
            String burn = f.run(pod, "spin", "while :; do :; done");
            var descriptors = f.rt().listMetricDescriptors(runtime.v1.ListMetricDescriptorsRequest
                    .getDefaultInstance()).getDescriptorsList();
            Map<String, runtime.v1.MetricDescriptor> byName = new java.util.HashMap<>();
            descriptors.forEach(d -> byName.put(d.getName(), d));
            for (String name : List.of("container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                    "container_memory_usage_bytes", "container_network_receive_bytes_total",
                    "container_network_transmit_bytes_total", "container_fs_usage_bytes")) {
                assertTrue(byName.containsKey(name), name + " in " + byName.keySet());
            }
            assertEquals(List.of("container", "id", "image", "name", "namespace", "pod", "interface"),
                    byName.get("container_network_receive_bytes_total").getLabelKeysList());
            // until the busy loop has had more than a CPU second (a loaded machine gives it less than 1 core)
            for (int i = 0; i < 100 && stats(pod.id()).getLinux().getCpu().getUsageCoreNanoSeconds().getValue()
                    < 1_200_000_000L; i++) {
                Thread.sleep(200);
            }
            var all = f.rt().listPodSandboxMetrics(runtime.v1.ListPodSandboxMetricsRequest.getDefaultInstance())
                    .getPodMetricsList();
            var mine = all.stream().filter(m -> m.getPodSandboxId().equals(pod.id())).findFirst().orElseThrow();
            for (var m : mine.getMetricsList()) {
                assertEquals(byName.get(m.getName()).getLabelKeysCount(), m.getLabelValuesCount(),
                        "label values match the descriptor's keys: " + m);
            }
            var rx = mine.getMetricsList().stream().filter(m -> m.getName().equals(
                    "container_network_receive_bytes_total")).findFirst().orElseThrow();
            assertEquals("eth0", rx.getLabelValues(6));
            assertEquals("metered", rx.getLabelValues(5));
            assertEquals("wholecri", rx.getLabelValues(4));
            assertEquals(runtime.v1.MetricType.COUNTER, rx.getMetricType());
            var ctr = mine.getContainerMetricsList().stream().filter(c -> c.getContainerId().equals(burn))
                    .findFirst().orElseThrow();
            var cpu = ctr.getMetricsList().stream().filter(m -> m.getName().equals(
                    "container_cpu_usage_seconds_total")).findFirst().orElseThrow();
            assertEquals("spin", cpu.getLabelValues(0));
            assertTrue(cpu.getValue().getValue() >= 1, "the busy loop used more than a CPU second: " + cpu);
            assertTrue(ctr.getMetricsList().stream().anyMatch(m -> m.getName().equals("container_fs_usage_bytes")));
            assertEquals(f.hasController("memory"), ctr.getMetricsList().stream().anyMatch(m -> m.getName()
                    .equals("container_memory_working_set_bytes")), "memory figures only where the host has them");
            // the stream sends the same pods
            List<String> streamed = new java.util.ArrayList<>();
            f.rt().streamPodSandboxMetrics(runtime.v1.StreamPodSandboxMetricsRequest.getDefaultInstance())
                    .forEachRemaining(r -> r.getPodSandboxMetricsList().forEach(m -> streamed.add(m.getPodSandboxId())));
            assertEquals(all.stream().map(m -> m.getPodSandboxId()).sorted().toList(), streamed.stream().sorted()
                    .toList());
        } finally {
            f.removePod(pod.id());
        }
    }

    /** Connects (retrying until the listener is up) and writes {@code bytes} zero bytes. */
    static void send(String ip, int port, int bytes) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress(ip, port), 2000);
                s.getOutputStream().write(new byte[bytes]);
                s.shutdownOutput();
                s.setSoTimeout(5000);
                try {
                    s.getInputStream().read(); // until the pod closes: every byte arrived
                } catch (java.net.SocketTimeoutException enough) {
                    // the listener keeps its side open; the bytes are sent
                }
                return;
            } catch (java.io.IOException e) {
                if (attempt > 50) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private List<String> ids(PodSandboxStatsFilter filter) {
        return f.rt().listPodSandboxStats(ListPodSandboxStatsRequest.newBuilder().setFilter(filter).build())
                .getStatsList().stream().map(s -> s.getAttributes().getId()).toList();
    }
}
