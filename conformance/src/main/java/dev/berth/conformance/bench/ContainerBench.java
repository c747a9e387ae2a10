package dev.berth.conformance.bench;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.ReferenceContainerd;
import dev.berth.conformance.harness.TestImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * 50 pods with one container each, on berth and on Debian's containerd in one run: RunPodSandbox,
 * CreateContainer, StartContainer, then StopContainer, RemoveContainer, StopPodSandbox and
 * RemovePodSandbox; p50 and p99 per step, and the memory (RSS and PSS) of the daemon plus all its
 * per-container processes (conmon for berth, containerd-shim-runc-v2 for containerd) at 20 and
 * at 50 running containers. Run as root from the repository root after {@code ./mvnw -DskipTests
 * install}:
 * <pre>
 * java -cp "$(cat conformance/target/bench.cp):conformance/target/classes" -Dberth.home=. \
 *     dev.berth.conformance.bench.ContainerBench [pods]
 * </pre>
 * ({@code mvn -pl conformance dependency:build-classpath -Dmdep.outputFile=target/bench.cp} writes
 * the class path.)
 */
public final class ContainerBench {
    static final List<String> STEPS = List.of("RunPodSandbox", "CreateContainer", "StartContainer",
            "Create+Start", "StopContainer", "RemoveContainer", "StopPodSandbox", "RemovePodSandbox");

    record Result(Map<String, List<Long>> micros, long[] mem20, long[] mem50) {}

    public static void main(String[] args) throws Exception {
        int pods = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        try (LocalRegistry reg = LocalRegistry.start()) {
            String image = TestImages.pushBusybox(reg, "library/busybox", "bench").reference();
            Result berth = null;
            try (BerthDaemon d = BerthDaemon.start(StepBreakdown.DAEMON_ENV)) {
                long pid = d.pid();
                String run = d.run().toString();
                berth = run(d.client(), image, pods, d.base().resolve("logs"),
                        () -> ProcessMemory.total(pid, cmd -> cmd.contains("conmon") && cmd.contains(run)));
                StepBreakdown.print(d.log(), "RunPodSandbox", "CreateContainer", "StartContainer",
                        "StopPodSandbox", "RemovePodSandbox");
            } catch (io.grpc.StatusRuntimeException e) {
                System.out.println("berth could not run the benchmark: " + e.getStatus());
            }
            Result ref = null;
            if (ReferenceContainerd.available()) {
                try (ReferenceContainerd c = ReferenceContainerd.start(Map.of("REF_REGISTRY", reg.host()))) {
                    long pid = Long.parseLong(Files.readString(Path.of(
                            System.getenv().getOrDefault("REF_ROOT", "/tmp/containerd-ref"), "containerd.pid")).strip());
                    Path logs = Files.createTempDirectory("bench-containerd-logs");
                    try {
                        ref = run(c.client(), image, pods, logs,
                                () -> ProcessMemory.total(pid, cmd -> cmd.contains("containerd-shim-runc-v2")
                                        && cmd.contains(c.endpoint().replace("unix://", ""))));
                    } finally {
                        Commands.run("rm", "-rf", logs.toString());
                    }
                }
            }
            print(pods, berth, ref);
        }
    }

    interface Sampler {
        long[] sample() throws IOException;
    }

    static Result run(CriClient cri, String image, int pods, Path logs, Sampler mem) throws Exception {
        cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
        Map<String, List<Long>> t = new LinkedHashMap<>();
        STEPS.forEach(s -> t.put(s, new ArrayList<>()));
        List<String[]> made = new ArrayList<>();
        long[] mem20 = null;
        for (int i = 0; i < pods; i++) {
            Files.createDirectories(logs.resolve("p" + i));
            PodSandboxConfig pc = BenchPods.pod("bench-" + i, "bench", logs.resolve("p" + i), BenchPods.NODE_NETWORK);
            long t0 = System.nanoTime();
            String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pc).build())
                    .getPodSandboxId();
            long t1 = System.nanoTime();
            String ctr = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                    .setSandboxConfig(pc).setConfig(BenchPods.sleeper(image, BenchPods.NODE_NETWORK))
                    .build()).getContainerId();
            long t2 = System.nanoTime();
            cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(ctr).build());
            long t3 = System.nanoTime();
            t.get("RunPodSandbox").add((t1 - t0) / 1000);
            t.get("CreateContainer").add((t2 - t1) / 1000);
            t.get("StartContainer").add((t3 - t2) / 1000);
            t.get("Create+Start").add((t3 - t1) / 1000);
            made.add(new String[] {pod, ctr});
            if (i + 1 == 20) {
                Thread.sleep(1000);
                mem20 = mem.sample();
            }
        }
        Thread.sleep(1000);
        long[] mem50 = mem.sample();
        for (String[] pc : made) {
            long t0 = System.nanoTime();
            cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(pc[1]).setTimeout(0).build());
            long t1 = System.nanoTime();
            cri.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(pc[1]).build());
            long t2 = System.nanoTime();
            cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pc[0]).build());
            long t3 = System.nanoTime();
            cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pc[0]).build());
            long t4 = System.nanoTime();
            t.get("StopContainer").add((t1 - t0) / 1000);
            t.get("RemoveContainer").add((t2 - t1) / 1000);
            t.get("StopPodSandbox").add((t3 - t2) / 1000);
            t.get("RemovePodSandbox").add((t4 - t3) / 1000);
        }
        return new Result(t, mem20, mem50);
    }

    static long pct(List<Long> v, double p) {
        List<Long> s = new ArrayList<>(v);
        Collections.sort(s);
        return s.isEmpty() ? 0 : s.get((int) Math.min(s.size() - 1, Math.ceil(p * s.size()) - 1));
    }

    static void print(int pods, Result b, Result c) {
        if (b == null) {
            b = new Result(new LinkedHashMap<>(), null, null);
            for (String s : STEPS) {
                b.micros().put(s, List.of());
            }
        }
        System.out.printf("%n%d pods x 1 container (busybox sleep), times in ms%n", pods);
        System.out.printf("%-18s %10s %10s %12s %12s%n", "step", "berth p50", "berth p99", "containerd p50",
                "containerd p99");
        for (String s : STEPS) {
            System.out.printf("%-18s %10.1f %10.1f %12s %12s%n", s, pct(b.micros().get(s), 0.5) / 1000.0,
                    pct(b.micros().get(s), 0.99) / 1000.0,
                    c == null ? "-" : String.format("%.1f", pct(c.micros().get(s), 0.5) / 1000.0),
                    c == null ? "-" : String.format("%.1f", pct(c.micros().get(s), 0.99) / 1000.0));
        }
        System.out.printf("%nmemory: daemon + per-container monitors (conmon / containerd-shim-runc-v2)%n");
        printMem("20 running", b.mem20(), c == null ? null : c.mem20());
        printMem(pods + " running", b.mem50(), c == null ? null : c.mem50());
    }

    static void printMem(String label, long[] b, long[] c) {
        if (b == null) {
            b = new long[] {0, 0, 0};
        }
        System.out.printf("%-12s berth: RSS %6.1f MiB PSS %6.1f MiB (%d processes)", label, b[0] / 1024.0,
                b[1] / 1024.0, b[2]);
        if (c != null) {
            System.out.printf(" | containerd: RSS %6.1f MiB PSS %6.1f MiB (%d processes) | PSS ratio %.2f",
                    c[0] / 1024.0, c[1] / 1024.0, c[2], c[1] == 0 ? 0.0 : (double) b[1] / c[1]);
        }
        System.out.println();
    }

    private ContainerBench() {}
}
