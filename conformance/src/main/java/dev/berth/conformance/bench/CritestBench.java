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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * {@code critest -benchmark} (the kit's cri-tools v1.34) against berth, then against the reference
 * containerd 1.7, pulling through the kit's registry (REGISTRY_ADDR; keep it off the lead's 5000 with
 * e.g. REGISTRY_ADDR=127.0.0.1:5077 CRITEST_ENV_STATE=/tmp/my-kit). Prints the p50 of every operation
 * critest times (CreatePod, StopPod, CreateContainer, StartContainer, PullImage, ListImages, ...)
 * side by side, and berth's own per-step medians.
 *
 * <pre>./berth bench critest [ginkgo focus regexp, e.g. "Pod|Container"]</pre>
 */
public final class CritestBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CritestBench() {}

    public static void main(String[] args) throws Exception {
        String focus = args.length > 0 ? args[0] : "";
        CritestKit kit = CritestKit.locate();
        if (kit.missing().isPresent()) {
            System.out.println("critest kit missing: " + kit.missing().get());
            System.exit(2);
        }
        Path out = Files.createTempDirectory("berth-critest-bench-");
        Map<String, Map<String, Double>> p50 = new LinkedHashMap<>();
        try (CritestKit.Registry registry = kit.startRegistry()) {
            BerthDaemon d = BerthDaemon.prepare(StepBreakdown.DAEMON_ENV);
            try {
                Path conf = d.base().resolve("registries.conf");
                Files.writeString(conf, kit.registriesConf());
                d.env().put("BERTH_REGISTRIES_CONF", conf.toString());
                d.startProcess();
                p50.put("berth", run(kit, d.namespace()::wrap, d.endpoint(), out.resolve("berth"), focus));
                StepBreakdown.print(d.log(), "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox",
                        "CreateContainer", "StartContainer");
            } finally {
                d.close();
            }
            if (ReferenceContainerd.available()) {
                try (ReferenceContainerd ref = ReferenceContainerd.start(Map.of("REF_REGISTRY", kit.registryAddr(),
                        "REF_ROOT", "/tmp/containerd-ref-critest-bench", "REF_RUN", "/run/containerd-ref-critest-bench",
                        "REF_BRIDGE", "ref-crb0", "REF_SUBNET", "10.92.0.0/16",
                        "REF_CGROUP_PARENT", "containerd-ref-critest-bench"))) {
                    p50.put("containerd", run(kit, UnaryOperator.identity(), ref.endpoint(), out.resolve("containerd"),
                            focus));
                }
            } else {
                System.out.println("containerd reference not used: " + ReferenceContainerd.script());
            }
        }
        print(p50);
        System.out.println("critest output: " + out);
    }

    /** Runs critest -benchmark; returns the p50 (ms) of each operation from its data files. */
    static Map<String, Double> run(CritestKit kit, UnaryOperator<List<String>> wrap, String endpoint, Path dir,
            String focus) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(List.of(kit.critest().toString(), "-benchmark",
                "-runtime-endpoint", endpoint, "-image-endpoint", endpoint,
                "-benchmarking-output-dir", dir.toString(), "--ginkgo.no-color"));
        if (!focus.isEmpty()) {
            cmd.add("--ginkgo.focus=" + focus);
        }
        ProcessBuilder pb = new ProcessBuilder(wrap.apply(cmd)).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("critest.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        return p50s(dir);
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
        System.out.printf("%ncritest -benchmark p50 (ms)%n%-18s %10s %12s %8s%n", "operation", "berth", "containerd",
                "ratio");
        for (String op : b.keySet()) {
            Double cv = c.get(op);
            System.out.printf("%-18s %10.1f %12s %8s%n", op, b.get(op), cv == null ? "-" : String.format("%.1f", cv),
                    cv == null || cv == 0 ? "-" : String.format("%.2f", b.get(op) / cv));
        }
    }
}
