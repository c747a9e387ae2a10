package dev.berth.conformance.bench;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.ReferenceContainerd;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;
import runtime.v1.StopPodSandboxRequest;

/**
 * Runs, stops and removes N pods (default 50, one at a time) on berth and on the reference
 * containerd with the same CRI client on the same machine in one run, and prints p50 and p99 of
 * each step side by side. Two unmeasured pods warm each runtime up first.
 *
 * <pre>java -cp ... dev.berth.conformance.bench.SandboxBenchmark [pods]</pre>
 */
public final class SandboxBenchmark {
    private SandboxBenchmark() {}

    /** Milliseconds per step. */
    record Timings(double[] run, double[] stop, double[] remove) {}

    public static void main(String[] args) throws Exception {
        int pods = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        Map<String, Timings> results = new LinkedHashMap<>();
        try (BerthDaemon berth = BerthDaemon.start()) {
            String prefix = "/berth-bench-" + berth.httpPort() + "-";
            results.put("berth", measure(berth.client().runtime(), pods, prefix));
            if (System.getProperty("bench.keepLog") != null) {
                java.nio.file.Files.copy(berth.log(), java.nio.file.Path.of(System.getProperty("bench.keepLog")),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        if (ReferenceContainerd.available() && System.getProperty("bench.berthOnly") == null) {
            try (ReferenceContainerd ref = ReferenceContainerd.start(Map.of())) {
                results.put("containerd", measure(ref.client().runtime(), pods, null));
            }
        } else {
            System.out.println("containerd reference not available: " + ReferenceContainerd.script());
        }
        System.out.printf("%nPod sandbox lifecycle, %d pods one at a time (ms)%n", pods);
        System.out.printf("%-12s %10s %10s %10s %10s %10s %10s%n", "runtime", "run p50", "run p99", "stop p50",
                "stop p99", "remove p50", "remove p99");
        for (Map.Entry<String, Timings> e : results.entrySet()) {
            Timings t = e.getValue();
            System.out.printf("%-12s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f%n", e.getKey(), pct(t.run, 50),
                    pct(t.run, 99), pct(t.stop, 50), pct(t.stop, 99), pct(t.remove, 50), pct(t.remove, 99));
        }
        if (results.containsKey("containerd")) {
            System.out.printf("RunPodSandbox p50: berth takes %.2f of containerd's time (target <= 0.25)%n",
                    pct(results.get("berth").run, 50) / pct(results.get("containerd").run, 50));
        }
    }

    static Timings measure(RuntimeServiceBlockingStub rt, int pods, String cgroupPrefix) {
        for (int i = 0; i < 2; i++) {
            String id = run(rt, "warmup-" + i, cgroupPrefix);
            rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
            rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
        }
        double[] run = new double[pods];
        double[] stop = new double[pods];
        double[] remove = new double[pods];
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < pods; i++) {
            long t0 = System.nanoTime();
            ids.add(run(rt, "bench-" + i, cgroupPrefix));
            run[i] = (System.nanoTime() - t0) / 1e6;
        }
        for (int i = 0; i < pods; i++) {
            long t0 = System.nanoTime();
            rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(ids.get(i)).build());
            stop[i] = (System.nanoTime() - t0) / 1e6;
        }
        for (int i = 0; i < pods; i++) {
            long t0 = System.nanoTime();
            rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(ids.get(i)).build());
            remove[i] = (System.nanoTime() - t0) / 1e6;
        }
        return new Timings(run, stop, remove);
    }

    static String run(RuntimeServiceBlockingStub rt, String name, String cgroupPrefix) {
        PodSandboxConfig.Builder c = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("bench").setUid("uid-" + name));
        if (cgroupPrefix != null) {
            c.setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cgroupPrefix + name));
        }
        return rt.runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(c).build()).getPodSandboxId();
    }

    static double pct(double[] values, int p) {
        double[] s = values.clone();
        Arrays.sort(s);
        int idx = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(idx, s.length - 1))];
    }
}
