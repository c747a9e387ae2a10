package dev.berth.conformance.bench;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.ReferenceContainerd;
import dev.berth.conformance.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.IntSupplier;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListContainerStatsRequest;
import runtime.v1.ListPodSandboxStatsRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PullImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * ListContainerStats and ListPodSandboxStats at 100 running containers (10 pods on the pod network
 * x 10 busybox {@code sleep} containers), on berth and on the reference containerd in one run: after
 * 10 warm-up calls, {@code calls} calls of each RPC one after the other; p50 and p99 in ms and the
 * number of items each answer held. containerd is the binary {@code REF_CONTAINERD} names (default
 * /usr/bin/containerd; 1.7 for the README figures), in a private instance of its own (root, run
 * directory, bridge, subnet and cgroup parent), so a reference instance of the tests is not touched.
 * <pre>
 * ./berth bench stats [containers-per-pod pods calls]      # 10 10 200
 * </pre>
 */
public final class StatsBench {
    static final List<String> RPCS = List.of("ListContainerStats", "ListPodSandboxStats");
    static final NamespaceOption NS = NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
            .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD).build();

    record Result(String version, Map<String, List<Long>> micros, Map<String, Integer> items) {}

    public static void main(String[] args) throws Exception {
        int perPod = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int pods = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int calls = args.length > 2 ? Integer.parseInt(args[2]) : 200;
        try (LocalRegistry reg = LocalRegistry.start()) {
            String image = TestImages.pushBusybox(reg, "library/busybox", "stats").reference();
            Result berth = null;
            try (BerthDaemon d = BerthDaemon.start()) {
                berth = run("berth", d.client(), image, pods, perPod, calls, d.base().resolve("logs"));
                // berth removes each pod's cgroup with the pod; the parent named in the configs is the bench's
                d.namespace().run("sh", "-c", "find /sys/fs/cgroup/stats-bench-berth -depth -type d -exec rmdir {} + "
                        + "2>/dev/null; true");
            }
            Result ref = null;
            if (ReferenceContainerd.available()) {
                Map<String, String> env = new LinkedHashMap<>();
                env.put("REF_REGISTRY", reg.host());
                env.put("REF_ROOT", "/tmp/berth-bench-stats-ref");
                env.put("REF_RUN", "/run/berth-bench-stats-ref");
                env.put("REF_BRIDGE", "ref-bstats0");
                env.put("REF_SUBNET", "10.93.0.0/16");
                env.put("REF_CGROUP_PARENT", "berth-bench-stats-ref");
                Path logs = Files.createTempDirectory("bench-stats-containerd-logs");
                try (ReferenceContainerd c = ReferenceContainerd.start(env)) {
                    ref = run("containerd", c.client(), image, pods, perPod, calls, logs);
                } catch (io.grpc.StatusRuntimeException e) {
                    System.out.println("containerd could not run the benchmark: " + e.getStatus());
                } finally {
                    dev.berth.conformance.harness.Commands.run("rm", "-rf", logs.toString());
                    // the reference's cgroupfs driver made the bench's parent in the host's cgroup2 view
                    dev.berth.conformance.harness.Commands.run("sh", "-c", "for d in /sys/fs/cgroup/stats-bench-containerd "
                            + "/sys/fs/cgroup/unified/stats-bench-containerd; do [ -d $d ] && find $d -depth -type d "
                            + "-exec rmdir {} + 2>/dev/null; done; true");
                }
            } else {
                System.out.println("the reference containerd is not available: berth alone");
            }
            print(pods, perPod, calls, berth, ref);
        }
    }

    static Result run(String who, CriClient cri, String image, int pods, int perPod, int calls, Path logs)
            throws Exception {
        String version = cri.runtime().version(runtime.v1.VersionRequest.getDefaultInstance()).getRuntimeVersion();
        cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
        List<String> made = new ArrayList<>();
        long t0 = System.nanoTime();
        try {
            for (int p = 0; p < pods; p++) {
                Path dir = Files.createDirectories(logs.resolve("p" + p));
                PodSandboxConfig pc = PodSandboxConfig.newBuilder()
                        .setMetadata(PodSandboxMetadata.newBuilder().setName("stats-" + p).setNamespace("bench")
                                .setUid(UUID.randomUUID().toString()))
                        .setLogDirectory(dir.toString())
                        // kubelet always gives one; containerd 1.7's ListPodSandboxStats fails without it
                        .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/stats-bench-" + who + "/pod" + p)
                                .setSecurityContext(
                                LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(NS)))
                        .build();
                String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pc).build())
                        .getPodSandboxId();
                made.add(pod);
                for (int c = 0; c < perPod; c++) {
                    String ctr = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                            .setSandboxConfig(pc).setConfig(ContainerConfig.newBuilder()
                                    .setMetadata(ContainerMetadata.newBuilder().setName("c" + c))
                                    .setImage(ImageSpec.newBuilder().setImage(image))
                                    .addCommand("sleep").addCommand("3600")
                                    .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                                            LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(NS)))
                                    .setLogPath("c" + c + ".log"))
                            .build()).getContainerId();
                    cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(ctr).build());
                }
            }
            System.out.printf("%s: %d pods x %d running containers in %.1f s%n", who, pods, perPod,
                    (System.nanoTime() - t0) / 1e9);
            Thread.sleep(2000); // let the containers settle before the first reading
            Map<String, IntSupplier> rpcs = new LinkedHashMap<>();
            // a deadline per call: containerd 1.7.24 was seen never answering ListPodSandboxStats
            // (15 min) for pods in a custom cgroup parent; that must end the runtime's row, not the bench
            rpcs.put("ListContainerStats", () -> cri.runtime().withDeadlineAfter(60, java.util.concurrent.TimeUnit.SECONDS)
                    .listContainerStats(ListContainerStatsRequest.getDefaultInstance()).getStatsCount());
            rpcs.put("ListPodSandboxStats", () -> cri.runtime().withDeadlineAfter(60, java.util.concurrent.TimeUnit.SECONDS)
                    .listPodSandboxStats(ListPodSandboxStatsRequest.getDefaultInstance()).getStatsCount());
            Map<String, List<Long>> micros = new LinkedHashMap<>();
            Map<String, Integer> items = new LinkedHashMap<>();
            for (var e : rpcs.entrySet()) {
              try {
                for (int i = 0; i < 10; i++) {
                    e.getValue().getAsInt();
                }
                List<Long> t = new ArrayList<>();
                int n = 0;
                for (int i = 0; i < calls; i++) {
                    long s = System.nanoTime();
                    n = e.getValue().getAsInt();
                    t.add((System.nanoTime() - s) / 1000);
                }
                micros.put(e.getKey(), t);
                items.put(e.getKey(), n);
                // printed at once: a later failure (the other runtime's) must not lose these figures
                System.out.printf("%s %s: p50 %.2f ms, p99 %.2f ms, %d items%n", who, e.getKey(),
                        ContainerBench.pct(t, 0.5) / 1000.0, ContainerBench.pct(t, 0.99) / 1000.0, n);
              } catch (io.grpc.StatusRuntimeException failed) {
                System.out.printf("%s %s: failed: %s%n", who, e.getKey(), failed.getStatus());
              }
            }
            return new Result(version, micros, items);
        } finally {
            // sleep as a container's init ignores SIGTERM: stop the containers at once, then the pods
            for (var c : cri.runtime().listContainers(runtime.v1.ListContainersRequest.getDefaultInstance())
                    .getContainersList()) {
                if (made.contains(c.getPodSandboxId())) {
                    try {
                        cri.runtime().stopContainer(runtime.v1.StopContainerRequest.newBuilder()
                                .setContainerId(c.getId()).setTimeout(0).build());
                    } catch (RuntimeException e) {
                        System.out.println(who + ": stopping container " + c.getId() + " failed: " + e);
                    }
                }
            }
            for (String pod : made) {
                try {
                    cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                    cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                } catch (RuntimeException e) {
                    System.out.println(who + ": removing pod " + pod + " failed: " + e);
                }
            }
        }
    }

    static void print(int pods, int perPod, int calls, Result b, Result c) {
        System.out.printf("%n%d pods x %d running containers, %d calls each, times in ms (%s)%n", pods, perPod, calls,
                java.time.Instant.now());
        System.out.printf("%-22s %14s %10s %10s %22s %10s %10s%n", "rpc", "berth " + b.version(), "p99", "items",
                c == null ? "containerd" : "containerd " + c.version(), "p99", "items");
        for (String r : RPCS) {
            if (!b.micros().containsKey(r)) {
                System.out.printf("%-22s %14s%n", r, "failed");
                continue;
            }
            System.out.printf("%-22s %14.2f %10.2f %10d", r, ContainerBench.pct(b.micros().get(r), 0.5) / 1000.0,
                    ContainerBench.pct(b.micros().get(r), 0.99) / 1000.0, b.items().get(r));
            if (c != null && !c.micros().containsKey(r)) {
                System.out.printf(" %22s", "no answer in 60 s");
            } else if (c != null) {
                System.out.printf(" %22.2f %10.2f %10d", ContainerBench.pct(c.micros().get(r), 0.5) / 1000.0,
                        ContainerBench.pct(c.micros().get(r), 0.99) / 1000.0, c.items().get(r));
            }
            System.out.println();
        }
    }

    private StatsBench() {}
}
