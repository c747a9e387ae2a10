package dev.berth.conformance.bench;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.ReferenceContainerd;
import dev.berth.conformance.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.ImageStatusRequest;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListImagesRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * Reads under load (issue 15, item 6), berth and the reference containerd in one run: N clients
 * (default 8, each its own connection, as N kubelets) each run cycles of RunPodSandbox,
 * CreateContainer, StartContainer, the six reads kubelet's PLEG and image manager issue
 * (ContainerStatus, PodSandboxStatus, ListContainers, ListPodSandbox, ImageStatus, ListImages;
 * {@code rounds} per cycle, default 3, while the other clients are in their lifecycle calls), then
 * StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox. One unmeasured cycle with
 * {@value #WARMUP_ROUNDS} rounds of reads warms each runtime up first (for berth: the JIT). Every
 * call is timed on its own; prints p50 / p99 per RPC for both runtimes and the ratio of the p50s.
 * Pods use kubelet's defaults (own network namespace on the runtime's bridge).
 *
 * <pre>./berth bench reads [clients, default 8] [cycles per client, default 5] [rounds of reads per cycle, default 3]
 *     [seconds per cycle, default 0]</pre>
 *
 * <p>{@code BERTH_JAVA_OPTS} adds JVM options to berth's (after the launcher's, so they win).
 *
 * <p>Back to back (period 0) the faster runtime also makes more load per second: its reads run
 * beside more process starts. A period longer than the slower runtime's cycle gives both the same
 * work per second, which is the fair comparison of the reads.
 */
public final class ReadsUnderLoadBench {
    /**
     * ContainerStatus split by round: the first read of a cycle follows the client's StartContainer
     * on its connection (and so comes after the transport sat idle through the start), the later
     * ones follow ListImages back to back. Same calls as the ContainerStatus row, shown apart.
     */
    static final String ROUND_ONE = "  round 1";
    static final String LATER_ROUNDS = "  rounds 2+";
    static final List<String> RPCS = List.of("RunPodSandbox", "CreateContainer", "StartContainer",
            "ContainerStatus", ROUND_ONE, LATER_ROUNDS, "PodSandboxStatus", "ListContainers", "ListPodSandbox",
            "ImageStatus", "ListImages",
            "StopContainer", "RemoveContainer", "StopPodSandbox", "RemovePodSandbox");
    /** Rounds of the six reads per cycle (third argument). */
    static int readsPerCycle = 3;
    /** Each client starts a cycle every this many ms (0: back to back; fourth argument, in seconds). */
    static long periodMillis;
    /** Rounds of the six reads in the unmeasured warm-up cycle. */
    static final int WARMUP_ROUNDS = 300;
    static final NamespaceOption NS = NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
            .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD).build();

    private ReadsUnderLoadBench() {}

    /** Call durations in µs, per RPC name, from all clients. */
    record Times(Map<String, List<Long>> micros) {
        Times() {
            this(new ConcurrentHashMap<>());
        }

        <T> T time(String rpc, Supplier<T> call) {
            return time(rpc, null, call);
        }

        /** As {@link #time(String, Supplier)}, the duration also counted under {@code alsoAs} (when not null). */
        <T> T time(String rpc, String alsoAs, Supplier<T> call) {
            long t0 = System.nanoTime();
            T r = call.get();
            long us = (System.nanoTime() - t0) / 1000;
            micros.computeIfAbsent(rpc, k -> new CopyOnWriteArrayList<>()).add(us);
            if (alsoAs != null) {
                micros.computeIfAbsent(alsoAs, k -> new CopyOnWriteArrayList<>()).add(us);
            }
            return r;
        }

        double p(String rpc, double q) {
            List<Long> s = new ArrayList<>(micros.getOrDefault(rpc, List.of()));
            if (s.isEmpty()) {
                return Double.NaN;
            }
            Collections.sort(s);
            return s.get((int) Math.min(s.size() - 1, Math.max(0, Math.ceil(q * s.size()) - 1))) / 1000.0;
        }
    }

    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int cycles = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        readsPerCycle = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        periodMillis = args.length > 3 ? (long) (Double.parseDouble(args[3]) * 1000) : 0;
        Map<String, Times> results = new LinkedHashMap<>();
        Map<String, String> load = new LinkedHashMap<>();
        try (LocalRegistry reg = LocalRegistry.start()) {
            String image = TestImages.pushBusybox(reg, "library/busybox", "reads").reference();
            Map<String, String> env = new LinkedHashMap<>(StepBreakdown.DAEMON_ENV);
            // the interceptor's DEBUG line per call gives the time spent inside the daemon
            env.put("QUARKUS_LOG_CATEGORY__DEV_BERTH_SERVER_RPC_INTERCEPTOR__LEVEL", "DEBUG");
            List<String> jvm = BerthDaemon.benchJvmOptions();
            System.out.println("berth JVM: " + String.join(" ", BerthDaemon.JVM_FLAGS) + " " + String.join(" ", jvm));
            try (BerthDaemon d = BerthDaemon.prepare(env).jvmOptions(jvm)) {
                d.startProcess();
                load.put("berth", CritestBench.loadAverage());
                results.put("berth", run(d.endpoint(), image, clients, cycles, d.base().resolve("logs")));
                load.merge("berth", " -> " + CritestBench.loadAverage(), String::concat);
                StepBreakdown.print(d.log(), "RunPodSandbox", "CreateContainer", "StartContainer", "StopPodSandbox",
                        "RemovePodSandbox");
                printServerTimes(d.log());
            }
            if (ReferenceContainerd.available() && System.getenv("BENCH_BERTH_ONLY") == null) {
                try (ReferenceContainerd c = ReferenceContainerd.start(Map.of("REF_REGISTRY", reg.host(),
                        "REF_ROOT", "/tmp/containerd-ref-reads-bench", "REF_RUN", "/run/containerd-ref-reads-bench",
                        "REF_BRIDGE", "ref-rds0", "REF_SUBNET", "10.93.0.0/16",
                        "REF_CGROUP_PARENT", "containerd-ref-reads-bench"))) {
                    load.put("containerd", CritestBench.loadAverage());
                    Path logs = Files.createTempDirectory("bench-reads-containerd-logs");
                    try {
                        results.put("containerd", run(c.endpoint(), image, clients, cycles, logs));
                    } finally {
                        // the pods' log directories (berth's live under the daemon's base, removed with it)
                        try (var walk = Files.walk(logs)) {
                            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                        }
                    }
                    load.merge("containerd", " -> " + CritestBench.loadAverage(), String::concat);
                }
            } else {
                System.out.println("containerd reference not used: " + ReferenceContainerd.script());
            }
        }
        print(clients, cycles, results, load);
    }

    static Times run(String endpoint, String image, int clients, int cycles, Path logs) throws Exception {
        Times t = new Times();
        try (CriClient first = CriClient.forEndpoint(endpoint)) {
            first.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image))
                    .build());
            // one unmeasured cycle with many reads: first-call costs (class loading, the bridge's
            // creation, the JIT's compiling of the read paths) are not load; kubelet's PLEG warms a
            // node's runtime up within minutes
            cycle(first, new Times(), image, logs, "warmup", WARMUP_ROUNDS);
        }
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<CriClient> conns = new ArrayList<>();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                CriClient cri = CriClient.forEndpoint(endpoint);
                conns.add(cri);
                int client = c;
                long begin = System.nanoTime() + c * periodMillis * 1_000_000L / clients;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < cycles; i++) {
                        // paced: cycle i starts at begin + i * period (staggered per client), so both
                        // runtimes do the same work per second; a runtime that falls behind runs back to back
                        long wait = (begin + i * periodMillis * 1_000_000L - System.nanoTime()) / 1_000_000L;
                        if (wait > 0) {
                            Thread.sleep(wait);
                        }
                        cycle(cri, t, image, logs, "c" + client + "-" + i, readsPerCycle);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
            conns.forEach(CriClient::close);
        }
        return t;
    }

    /** One pod with one container through its whole life, with the reads in the middle. */
    static void cycle(CriClient cri, Times t, String image, Path logs, String name, int rounds) throws Exception {
        Path logDir = Files.createDirectories(logs.resolve(name));
        PodSandboxConfig pc = BenchPods.pod("reads-" + name, "bench", logDir, NS);
        String pod = t.time("RunPodSandbox", () -> cri.runtime().runPodSandbox(
                RunPodSandboxRequest.newBuilder().setConfig(pc).build()).getPodSandboxId());
        String ctr = t.time("CreateContainer", () -> cri.runtime().createContainer(CreateContainerRequest.newBuilder()
                .setPodSandboxId(pod).setSandboxConfig(pc).setConfig(BenchPods.sleeper(image, NS))
                .build()).getContainerId());
        t.time("StartContainer", () -> cri.runtime().startContainer(
                StartContainerRequest.newBuilder().setContainerId(ctr).build()));
        ImageSpec spec = ImageSpec.newBuilder().setImage(image).build();
        for (int r = 0; r < rounds; r++) {
            // as kubelet asks: not verbose
            t.time("ContainerStatus", r == 0 ? ROUND_ONE : LATER_ROUNDS, () -> cri.runtime().containerStatus(
                    ContainerStatusRequest.newBuilder().setContainerId(ctr).build()));
            t.time("PodSandboxStatus", () -> cri.runtime().podSandboxStatus(
                    PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build()));
            t.time("ListContainers", () -> cri.runtime().listContainers(ListContainersRequest.getDefaultInstance()));
            t.time("ListPodSandbox", () -> cri.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()));
            t.time("ImageStatus", () -> cri.images().imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build()));
            t.time("ListImages", () -> cri.images().listImages(ListImagesRequest.getDefaultInstance()));
        }
        t.time("StopContainer", () -> cri.runtime().stopContainer(
                StopContainerRequest.newBuilder().setContainerId(ctr).setTimeout(0).build()));
        t.time("RemoveContainer", () -> cri.runtime().removeContainer(
                RemoveContainerRequest.newBuilder().setContainerId(ctr).build()));
        t.time("StopPodSandbox", () -> cri.runtime().stopPodSandbox(
                StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build()));
        t.time("RemovePodSandbox", () -> cri.runtime().removePodSandbox(
                RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build()));
    }

    /**
     * berth's own median time per RPC (from the call's start on its executor to its answer, the
     * interceptor's "X ok in N µs" lines), so client-side figures split into daemon time and the
     * time before and after (transport, queueing for a thread).
     */
    static void printServerTimes(Path log) throws java.io.IOException {
        java.util.regex.Pattern ok = java.util.regex.Pattern.compile(" (\\w+) ok in (\\d+) µs");
        Map<String, List<Long>> byRpc = new LinkedHashMap<>();
        for (String line : Files.readAllLines(log)) {
            java.util.regex.Matcher m = ok.matcher(line);
            if (m.find()) {
                byRpc.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(Long.parseLong(m.group(2)));
            }
        }
        StringBuilder b = new StringBuilder("berth, inside the daemon (median ms, warm-up included):");
        for (String rpc : RPCS) {
            List<Long> v = byRpc.get(rpc);
            if (v != null) {
                Collections.sort(v);
                b.append(String.format(" %s %.2f |", rpc, v.get(v.size() / 2) / 1000.0));
            }
        }
        System.out.println(b);
    }

    static void print(int clients, int cycles, Map<String, Times> results, Map<String, String> load) {
        Times b = results.get("berth");
        Times c = results.get("containerd");
        System.out.printf("%n%d clients x %d pod+container cycles, %d rounds of reads per cycle, %s (ms)%n", clients,
                cycles, readsPerCycle, periodMillis == 0 ? "back to back" : "one cycle per client every "
                        + periodMillis / 1000.0 + " s");
        load.forEach((k, v) -> System.out.println("load average during " + k + ": " + v));
        System.out.printf("%-18s %9s %9s %9s %9s %7s%n", "rpc", "berth p50", "berth p99", "ctrd p50", "ctrd p99",
                "ratio");
        for (String rpc : RPCS) {
            double b50 = b == null ? Double.NaN : b.p(rpc, 0.5);
            double c50 = c == null ? Double.NaN : c.p(rpc, 0.5);
            System.out.printf("%-18s %9.2f %9.2f %9.2f %9.2f %7s%n", rpc, b50, b == null ? Double.NaN : b.p(rpc, 0.99),
                    c50, c == null ? Double.NaN : c.p(rpc, 0.99),
                    Double.isNaN(b50) || Double.isNaN(c50) ? "-" : String.format("%.2f", b50 / c50));
        }
    }
}
