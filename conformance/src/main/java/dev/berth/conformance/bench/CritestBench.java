package dev.berth.conformance.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.CritestKit;
import dev.berth.conformance.harness.ReferenceContainerd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code critest -benchmark} (the kit's cri-tools v1.34) against berth, then against the reference
 * containerd 1.7, pulling through the kit's registry (REGISTRY_ADDR; keep it off the lead's 5000 with
 * e.g. REGISTRY_ADDR=127.0.0.1:5077 CRITEST_ENV_STATE=/tmp/my-kit). Prints the p50 of every operation
 * critest times (CreatePod, StopPod, CreateContainer, StartContainer, PullImage, ListImages, ...)
 * side by side, and berth's own per-step medians.
 *
 * <pre>./berth bench critest [benchmarks, e.g. "Pod|Container"] [samples, default 20] [parallel clients, default 1]</pre>
 *
 * <p>critest's benchmarks time nothing unless a params file gives their sample counts (each one
 * skips when its count is 0), so the selection goes there: the regexp picks among critest's
 * benchmark groups {@code Pod}, {@code Container} and {@code Image}, and the unpicked groups get
 * a count of 0. It is not passed as a ginkgo focus: {@code -benchmark} adds its own focus
 * "benchmark" and ginkgo ORs focuses, so a focus of "Pod|Container" also ran the validation specs
 * whose names match (47 of 113) and timed nothing. {@code BERTH_JAVA_OPTS} adds JVM options to
 * berth's (after the launcher's, so they win).
 */
public final class CritestBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CritestBench() {}

    /** critest's benchmark groups, as the selection regexp names them. */
    static final List<String> GROUPS = List.of("Pod", "Container", "Image");

    public static void main(String[] args) throws Exception {
        Pattern select = Pattern.compile(args.length > 0 && !args[0].isBlank() ? args[0] : ".*");
        int samples = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int parallel = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        CritestKit kit = CritestKit.locate();
        if (kit.missing().isPresent()) {
            System.out.println("critest kit missing: " + kit.missing().get());
            System.exit(2);
        }
        Path out = Files.createTempDirectory("berth-critest-bench-");
        Path params = out.resolve("benchmark-params.yaml");
        Files.writeString(params, params(select, samples, parallel));
        System.out.printf("critest -benchmark: %s, %d samples each, %d parallel clients (%s)%n",
                GROUPS.stream().filter(g -> select.matcher(g).matches()).toList(), samples, parallel, params);
        Map<String, Map<String, Double>> p50 = new LinkedHashMap<>();
        try (CritestKit.Registry registry = kit.startRegistry()) {
            List<String> jvm = BerthDaemon.benchJvmOptions();
            BerthDaemon d = BerthDaemon.prepare(StepBreakdown.DAEMON_ENV).jvmOptions(jvm);
            System.out.println("berth JVM: " + String.join(" ", BerthDaemon.JVM_FLAGS) + " " + String.join(" ", jvm));
            try {
                Path conf = d.base().resolve("registries.conf");
                Files.writeString(conf, kit.registriesConf());
                d.env().put("BERTH_REGISTRIES_CONF", conf.toString());
                d.startProcess();
                System.out.println("berth: load average " + loadAverage());
                p50.put("berth", run(kit, d.namespace()::wrap, d.endpoint(), out.resolve("berth"), params));
                System.out.println("berth: load average " + loadAverage());
                StepBreakdown.print(d.log(), "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox",
                        "CreateContainer", "StartContainer", "PullImage");
            } finally {
                d.close();
            }
            if (ReferenceContainerd.available()) {
                try (ReferenceContainerd ref = ReferenceContainerd.start(Map.of("REF_REGISTRY", kit.registryAddr(),
                        "REF_ROOT", "/tmp/containerd-ref-critest-bench", "REF_RUN", "/run/containerd-ref-critest-bench",
                        "REF_BRIDGE", "ref-crb0", "REF_SUBNET", "10.92.0.0/16",
                        "REF_CGROUP_PARENT", "containerd-ref-critest-bench"))) {
                    System.out.println("containerd: load average " + loadAverage());
                    p50.put("containerd", run(kit, UnaryOperator.identity(), ref.endpoint(), out.resolve("containerd"),
                            params));
                    System.out.println("containerd: load average " + loadAverage());
                }
            } else {
                System.out.println("containerd reference not used: " + ReferenceContainerd.script());
            }
        }
        print(p50);
        System.out.println("critest output: " + out);
    }

    /**
     * critest's benchmarking params: {@code samples} per selected group, {@code parallel} at once,
     * 0 for the others (critest skips a group whose count is 0); bounds wide enough for a busy machine.
     */
    static String params(Pattern select, int samples, int parallel) {
        Map<String, String> prefix = Map.of("Pod", "pods", "Container", "containers", "Image", "images");
        StringBuilder y = new StringBuilder();
        for (String g : GROUPS) {
            int n = select.matcher(g).matches() ? samples : 0;
            y.append(prefix.get(g)).append("Number: ").append(n).append('\n');
            y.append(prefix.get(g)).append("NumberParallel: ").append(parallel).append('\n');
        }
        y.append("containerBenchmarkTimeoutSeconds: 600\npodBenchmarkTimeoutSeconds: 600\n")
                .append("imageBenchmarkTimeoutSeconds: 600\npodContainerStartBenchmarkTimeoutSeconds: 60\n");
        return y.toString();
    }

    /** Runs critest -benchmark; returns the p50 (ms) of each operation from its data files. */
    static Map<String, Double> run(CritestKit kit, UnaryOperator<List<String>> wrap, String endpoint, Path dir,
            Path params) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        List<String> cmd = command(kit.critest(), endpoint, dir, params);
        ProcessBuilder pb = new ProcessBuilder(wrap.apply(cmd)).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("critest.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        String log = Files.readString(dir.resolve("critest.log"));
        Matcher ran = Pattern.compile("CRI validation - \\d+/\\d+ specs|(SUCCESS|FAIL)! [0-9.]+s").matcher(log);
        while (ran.find()) {
            System.out.println("  critest (" + dir.getFileName() + "): " + ran.group());
        }
        return p50s(dir);
    }

    /**
     * The critest command line. No ginkgo focus: {@code -benchmark} focuses on "benchmark" itself, and
     * a second focus would be ORed with it (running validation specs). The one benchmark without a
     * data file (start a container from scratch: one timed sample, reported only to ginkgo) is skipped.
     */
    static List<String> command(Path critest, String endpoint, Path dir, Path params) {
        return List.of(critest.toString(), "-benchmark",
                "-runtime-endpoint", endpoint, "-image-endpoint", endpoint,
                "-benchmarking-params-file", params.toString(),
                "-benchmarking-output-dir", dir.toString(), "--ginkgo.no-color",
                "--ginkgo.skip=start a container from scratch");
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    /** critest's *_benchmark_data.json: operationsNames and, per sample, operationsDurationsNs. */
    static Map<String, Double> p50s(Path dir) throws IOException {
        Map<String, Double> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(x -> x.getFileName().toString().endsWith("_benchmark_data.json")).sorted().toList()) {
                JsonNode set = JSON.readTree(f.toFile());
                List<String> names = new ArrayList<>();
                set.path("operationsNames").forEach(n -> names.add(n.asText()));
                for (int i = 0; i < names.size(); i++) {
                    List<Double> ms = new ArrayList<>();
                    for (JsonNode dp : set.path("datapoints")) {
                        JsonNode d = dp.path("operationsDurationsNs").path(i);
                        if (d.isNumber()) {
                            ms.add(d.asLong() / 1e6);
                        }
                    }
                    if (!ms.isEmpty()) {
                        ms.sort(null);
                        out.put(names.get(i), ms.get(ms.size() / 2));
                    }
                }
            }
        }
        return out;
    }

    static void print(Map<String, Map<String, Double>> p50) {
        Map<String, Double> b = p50.getOrDefault("berth", Map.of());
        Map<String, Double> c = p50.getOrDefault("containerd", Map.of());
        Set<String> ops = new LinkedHashSet<>(b.keySet());
        ops.addAll(c.keySet());
        System.out.printf("%ncritest -benchmark p50 (ms)%n%-18s %10s %12s %8s%n", "operation", "berth", "containerd",
                "ratio");
        for (String op : ops) {
            Double bv = b.get(op);
            Double cv = c.get(op);
            System.out.printf("%-18s %10s %12s %8s%n", op, bv == null ? "-" : String.format("%.1f", bv),
                    cv == null ? "-" : String.format("%.1f", cv),
                    bv == null || cv == null || cv == 0 ? "-" : String.format("%.2f", bv / cv));
        }
    }
}
