package dev.berth.runtime.stats;

import dev.berth.core.error.BerthException;
import dev.berth.linux.net.NetDevices;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupStats;
import dev.berth.runtime.cgroup.CpuRates;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.runtime.sandbox.SandboxView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import runtime.v1.PodSandbox;
import runtime.v1.PodSandboxFilter;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStateValue;

/**
 * PodSandboxStats / ListPodSandboxStats / the pod metrics: reads each ready pod's cgroup, the
 * counters of its network namespace (read inside it) and its containers' samples with the same
 * readers ContainerStats uses.
 */
public final class PodStatsReader {
    private static final Logger LOG = Logger.getLogger(PodStatsReader.class.getName());

    private final SandboxManager sandboxes;
    private final ContainerService containers;
    private final CgroupManager cgroups;
    private final dev.berth.linux.host.ProcFs procfs;
    private final CpuRates cpuRates = new CpuRates();

    public PodStatsReader(SandboxManager sandboxes, ContainerService containers, CgroupManager cgroups,
            dev.berth.linux.host.ProcFs procfs) {
        this.sandboxes = sandboxes;
        this.containers = containers;
        this.cgroups = cgroups;
        this.procfs = procfs;
    }

    /** One pod's sample; NOT_FOUND for an unknown id, FAILED_PRECONDITION for a pod that is not ready. */
    public PodUsage one(String podId) {
        if (podId == null || podId.isEmpty()) {
            throw BerthException.invalid("pod_sandbox_id is required");
        }
        List<PodSandbox> found = sandboxes.list(PodSandboxFilter.newBuilder().setId(podId).build()).stream()
                .filter(p -> p.getId().equals(podId)).toList();
        if (found.isEmpty()) {
            throw BerthException.notFound("pod sandbox %s does not exist", podId);
        }
        if (found.get(0).getState() != PodSandboxState.SANDBOX_READY) {
            throw BerthException.precondition("pod sandbox %s is not ready; a stopped pod has no usage", podId);
        }
        List<PodUsage> out = read(found, containers.usage(null, podId, Map.of()));
        if (out.isEmpty()) {
            throw BerthException.notFound("pod sandbox %s does not exist", podId);
        }
        return out.get(0);
    }

    /** Every ready pod whose id starts with {@code idPrefix} and whose labels match. */
    public List<PodUsage> list(String idPrefix, Map<String, String> labels) {
        PodSandboxFilter.Builder f = PodSandboxFilter.newBuilder()
                .setState(PodSandboxStateValue.newBuilder().setState(PodSandboxState.SANDBOX_READY))
                .putAllLabelSelector(labels);
        if (idPrefix != null) {
            f.setId(idPrefix);
        }
        List<PodSandbox> pods = sandboxes.list(f.build());
        if (pods.isEmpty()) {
            return List.of();
        }
        List<ContainerService.Usage> all = containers.usage(null, pods.size() == 1 ? pods.get(0).getId() : null,
                Map.of());
        List<PodUsage> out = read(pods, all);
        cpuRates.retain(new java.util.HashSet<>(out.stream().map(PodUsage::cgroupPath).toList()));
        return out;
    }

    private List<PodUsage> read(List<PodSandbox> pods, List<ContainerService.Usage> usage) {
        Map<String, List<ContainerService.Usage>> byPod = new HashMap<>();
        for (ContainerService.Usage u : usage) {
            byPod.computeIfAbsent(u.container().podId(), k -> new ArrayList<>()).add(u);
        }
        List<PodUsage> out = new ArrayList<>();
        for (PodSandbox p : pods) {
            SandboxView view = sandboxes.find(p.getId()).orElse(null);
            if (view == null) {
                continue; // removed meanwhile
            }
            long now = now();
            CgroupStats cg = CgroupStats.read(cgroups, view.cgroupPath());
            out.add(new PodUsage(p, view.cgroupPath(), now, cg,
                    cpuRates.next(view.cgroupPath(), now, cg.cpuUsageNanos()), interfaces(view),
                    byPod.getOrDefault(p.getId(), List.of())));
        }
        return out;
    }

    private List<NetDevices.Counters> interfaces(SandboxView view) {
        Path netns = view.netNamespacePath();
        if (netns == null || !Files.exists(netns)) {
            return List.of(); // host network: the node's interfaces are not the pod's
        }
        try {
            return procfs.netDevices(netns).stream().filter(c -> !c.name().equals("lo")).toList();
        } catch (RuntimeException e) {
            LOG.fine("network counters of pod " + view.id() + ": " + e.getMessage());
            return List.of();
        }
    }

    private static long now() {
        Instant i = Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
