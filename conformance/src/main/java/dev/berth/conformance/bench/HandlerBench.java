package dev.berth.conformance.bench;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PullImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * CreateContainer + StartContainer through each OCI runtime handler berth offers (runc, crun), in one
 * daemon and one run, pods alternating between the handlers so that load hits both alike: p50/p99 per
 * handler, the ratio to runc, and berth's median time per step for each handler's containers.
 *
 * <p>crun needs to raise RLIMIT_MEMLOCK for its device filter, which a host without CAP_SYS_RESOURCE
 * denies, and a hybrid cgroup host is not what a node runs; so on such a host the bench runs itself
 * inside the cgroup v2 VM ({@code ../shared/vm/run-in-vm.sh}, software emulated: read the ratios, not
 * the absolute times). {@code ./berth bench handlers [pods]} (default 20 per handler).
 */
public final class HandlerBench {
    static final List<String> HANDLERS = List.of("runc", "crun");
    static final String IN_VM = "BERTH_BENCH_IN_VM";

    public static void main(String[] args) throws Exception {
        int pods = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        if (!pureCgroupV2() && System.getenv(IN_VM) == null) {
            System.exit(inVm(pods));
        }
        try (LocalRegistry reg = LocalRegistry.start()) {
            String image = TestImages.pushBusybox(reg, "library/busybox", "bench").reference();
            try (BerthDaemon d = BerthDaemon.prepare(StepBreakdown.DAEMON_ENV)) {
                d.startProcess(Duration.ofMinutes(5)); // an emulated VM starts the JVM slowly
                CriClient cri = d.client();
                cri.images().pullImage(PullImageRequest.newBuilder()
                        .setImage(ImageSpec.newBuilder().setImage(image)).build());
                Map<String, List<Long>> times = new LinkedHashMap<>();
                Map<String, Set<String>> ids = new LinkedHashMap<>();
                HANDLERS.forEach(h -> {
                    times.put(h, new ArrayList<>());
                    ids.put(h, new java.util.HashSet<>());
                });
                // one warm-up pod per handler (first use of each binary and code path), not counted
                for (int i = -1; i < pods; i++) {
                    for (String h : HANDLERS) {
                        long micros = createStart(cri, image, h, d.base().resolve("logs"), ids.get(h));
                        if (i >= 0) {
                            times.get(h).add(micros);
                        }
                    }
                }
                System.out.printf("%n%d pods per handler, CreateContainer + StartContainer (busybox sleep), ms%n", pods);
                System.out.printf("%-8s %8s %8s %10s%n", "handler", "p50", "p99", "p50/runc");
                double runc = ContainerBench.pct(times.get("runc"), 0.5);
                for (String h : HANDLERS) {
                    double p50 = ContainerBench.pct(times.get(h), 0.5);
                    System.out.printf("%-8s %8.1f %8.1f %10.2f%n", h, p50 / 1000.0,
                            ContainerBench.pct(times.get(h), 0.99) / 1000.0, runc == 0 ? 0.0 : p50 / runc);
                }
                for (String h : HANDLERS) {
                    Set<String> mine = ids.get(h);
                    StepBreakdown.print(d.log(), h, line -> mine.stream().anyMatch(line::contains),
                            "CreateContainer", "StartContainer");
                }
            }
        }
    }

    /** CreateContainer + StartContainer in µs; the pod is stopped and removed again, the container's id is added to {@code ids}. */
    static long createStart(CriClient cri, String image, String handler, Path logs, Set<String> ids) throws IOException {
        Path dir = Files.createDirectories(logs.resolve(UUID.randomUUID().toString()));
        PodSandboxConfig pc = BenchPods.pod("handler-" + handler, "bench", dir, BenchPods.NODE_NETWORK);
        String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pc)
                .setRuntimeHandler(handler).build()).getPodSandboxId();
        try {
            long t0 = System.nanoTime();
            String ctr = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                    .setSandboxConfig(pc).setConfig(BenchPods.sleeper(image, BenchPods.NODE_NETWORK))
                    .build()).getContainerId();
            cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(ctr).build());
            long t1 = System.nanoTime();
            ids.add(ctr);
            return (t1 - t0) / 1000;
        } finally {
            cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        }
    }

    /** A cgroup2 root with the memory controller (what a node has, and crun's device filter runs on). */
    static boolean pureCgroupV2() {
        try {
            return Files.readString(Path.of("/sys/fs/cgroup/cgroup.controllers")).contains("memory");
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs this bench inside the cgroup v2 VM and passes its output through; the VM's exit status. */
    static int inVm(int pods) throws IOException, InterruptedException {
        Path home = Path.of(System.getProperty("berth.home", ".")).toAbsolutePath().normalize();
        Path tool = home.resolveSibling("shared").resolve("vm").resolve("run-in-vm.sh");
        if (!Files.isRegularFile(tool)) {
            System.err.println("this host is not a cgroup v2 node and there is no VM tool at " + tool);
            return 2;
        }
        System.out.println("this host is not a pure cgroup v2 node (or denies crun's RLIMIT_MEMLOCK): running in the"
                + " cgroup v2 VM (software emulated; read the ratios)");
        List<String> cmd = new ArrayList<>(List.of("bash", tool.toString(), "--timeout", "2400", "--mem", "3072",
                "-e", IN_VM + "=1", "--", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-Dberth.home=" + home, "-cp", System.getProperty("java.class.path"),
                HandlerBench.class.getName(), Integer.toString(pods)));
        return new ProcessBuilder(cmd).inheritIO().start().waitFor();
    }

    private HandlerBench() {}
}
