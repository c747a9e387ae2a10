package dev.berth.conformance.bench;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.ReferenceContainerd;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;
import runtime.v1.StopPodSandboxRequest;

/**
 * Runs, stops and removes N pods (default 50) on berth and on the reference containerd with the
 * same CRI client on the same machine in one run, and prints p50 and p99 of each step side by side.
 * Calls alternate between the two runtimes (pod i on berth, then pod i on containerd, one call at
 * a time) so load from other work on the machine falls on both alike. Two unmeasured pods warm
 * each runtime up first. Pods use kubelet's defaults: own network (the runtime's bridge), PID
 * namespace per container.
 *
 * <pre>java -cp ... dev.berth.conformance.bench.SandboxBenchmark [pods] [serial]</pre>
 * With {@code serial} each pod is run, stopped and removed before the next (as critest -benchmark),
 * so every pod is its network's only one.
 */
public final class SandboxBenchmark {
    private SandboxBenchmark() {}

    /** One runtime under test: its client and where its pod cgroups go (null: its default). */
    record Target(String name, RuntimeServiceBlockingStub rt, String cgroupPrefix, List<String> ids,
            double[] run, double[] stop, double[] remove) {
        Target(String name, RuntimeServiceBlockingStub rt, String cgroupPrefix, int pods) {
            this(name, rt, cgroupPrefix, new ArrayList<>(), new double[pods], new double[pods], new double[pods]);
        }
    }

    public static void main(String[] args) throws Exception {
        int pods = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        boolean serial = args.length > 1 && args[1].equals("serial");
        List<Target> targets = new ArrayList<>();
        ReferenceContainerd ref = null;
        try (BerthDaemon berth = BerthDaemon.start(StepBreakdown.DAEMON_ENV)) {
            targets.add(new Target("berth", berth.client().runtime(), "/berth-bench-" + berth.httpPort() + "-", pods));
            if (ReferenceContainerd.available() && System.getProperty("bench.berthOnly") == null) {
                // a private instance: other benchmarks may use the default one at the same time
                ref = ReferenceContainerd.start(Map.of("REF_ROOT", "/tmp/containerd-ref-sandbox-bench",
                        "REF_RUN", "/run/containerd-ref-sandbox-bench", "REF_BRIDGE", "ref-sbx0",
                        "REF_SUBNET", "10.91.0.0/16", "REF_CGROUP_PARENT", "containerd-ref-sandbox-bench"));
                targets.add(new Target("containerd", ref.client().runtime(), null, pods));
            } else {
                System.out.println("containerd reference not used: " + ReferenceContainerd.script());
            }
            for (Target t : targets) {
                for (int i = 0; i < 2; i++) {
                    String id = run(t, "warmup-" + i);
                    t.rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                    t.rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                }
            }
            if (serial) {
                // as critest -benchmark: one pod at a time, so each is the network's only pod
                for (int i = 0; i < pods; i++) {
                    for (Target t : targets) {
                        runOne(t, i);
                        stopOne(t, i);
                        removeOne(t, i);
                    }
                }
            } else {
                for (int i = 0; i < pods; i++) {
                    for (Target t : targets) {
                        runOne(t, i);
                    }
                }
                for (int i = 0; i < pods; i++) {
                    for (Target t : targets) {
                        stopOne(t, i);
                    }
                }
                for (int i = 0; i < pods; i++) {
                    for (Target t : targets) {
                        removeOne(t, i);
                    }
                }
            }
            StepBreakdown.print(berth.log(), "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox");
            if (System.getProperty("bench.keepLog") != null) {
                // the daemon's log goes with its directory: keep a copy when asked
                java.nio.file.Files.copy(berth.log(), java.nio.file.Path.of(System.getProperty("bench.keepLog")),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            if (ref != null) {
                ref.close();
            }
        }
        System.out.printf("%nPod sandbox lifecycle, %d pods%s, calls alternating between runtimes (ms)%n", pods,
                serial ? " one at a time" : "");
        System.out.printf("%-12s %10s %10s %10s %10s %10s %10s%n", "runtime", "run p50", "run p99", "stop p50",
                "stop p99", "remove p50", "remove p99");
        for (Target t : targets) {
            System.out.printf("%-12s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f%n", t.name, pct(t.run, 50),
                    pct(t.run, 99), pct(t.stop, 50), pct(t.stop, 99), pct(t.remove, 50), pct(t.remove, 99));
        }
        if (targets.size() == 2) {
            System.out.printf("RunPodSandbox p50: berth takes %.2f of containerd's time (project target <= 0.25)%n",
                    pct(targets.get(0).run, 50) / pct(targets.get(1).run, 50));
            System.out.printf("StopPodSandbox p50: %.2f of containerd's (target <= 0.3); RemovePodSandbox p50: %.2f "
                    + "(target <= 0.5)%n", pct(targets.get(0).stop, 50) / pct(targets.get(1).stop, 50),
                    pct(targets.get(0).remove, 50) / pct(targets.get(1).remove, 50));
        }
    }

    private static void runOne(Target t, int i) {
        long t0 = System.nanoTime();
        t.ids.add(run(t, "bench-" + i));
        t.run[i] = ms(t0);
    }

    private static void stopOne(Target t, int i) {
        long t0 = System.nanoTime();
        t.rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(t.ids.get(i)).build());
        t.stop[i] = ms(t0);
    }

    private static void removeOne(Target t, int i) {
        long t0 = System.nanoTime();
        t.rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(t.ids.get(i)).build());
        t.remove[i] = ms(t0);
    }

    static String run(Target t, String name) {
        PodSandboxConfig.Builder c = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("bench").setUid("uid-" + name));
        // as kubelet sends a pod without hostNetwork or shareProcessNamespace
        LinuxPodSandboxConfig.Builder linux = LinuxPodSandboxConfig.newBuilder().setSecurityContext(
                LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(NamespaceOption.newBuilder()
                        .setNetwork(NamespaceMode.POD).setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD)));
        if (t.cgroupPrefix != null) {
            linux.setCgroupParent(t.cgroupPrefix + name);
        }
        c.setLinux(linux);
        return t.rt.runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(c).build()).getPodSandboxId();
    }

    static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    static double pct(double[] values, int p) {
        double[] s = values.clone();
        Arrays.sort(s);
        int idx = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(idx, s.length - 1))];
    }
}
