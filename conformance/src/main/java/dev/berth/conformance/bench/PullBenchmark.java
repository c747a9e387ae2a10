package dev.berth.conformance.bench;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.ReferenceContainerd;
import dev.berth.conformance.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import runtime.v1.ImageSpec;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveImageRequest;

/**
 * Pull throughput, berth next to containerd, through the same CRI client in one run.
 *
 * <p>Builds a multi-layer image of about 200 MB (busybox + LAYERS layers of incompressible data),
 * pushes it to a private docker-registry on 127.0.0.1, then for each runtime pulls it RUNS times
 * into a cold store (RemoveImage in between frees every layer in both) and prints seconds and MB/s
 * (MB = 10^6 bytes of compressed blobs). containerd is Debian's, via containerd-ref with its
 * registry pointed at ours; skipped (with a note) when it is not installed.
 *
 * <p>Run (as root, after {@code ./mvnw -DskipTests package}):
 * <pre>
 * java -cp "conformance/target/classes:$(cat conformance/target/bench.classpath)" \
 *     -Dberth.home=. dev.berth.conformance.bench.PullBenchmark [runs] [layers] [MB per layer]
 * </pre>
 * (write bench.classpath with {@code mvn -pl conformance dependency:build-classpath
 * -Dmdep.outputFile=target/bench.classpath}).
 */
public final class PullBenchmark {
    private PullBenchmark() {}

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        long mbPerLayer = args.length > 2 ? Long.parseLong(args[2]) : 40;
        try (LocalRegistry reg = LocalRegistry.start()) {
            TestImages.Image image = TestImages.image().layer(TestImages.busyboxLayer());
            for (int i = 0; i < layers; i++) {
                image.layer(new TestImages.Layer().randomFile("/data/blob" + i, mbPerLayer * 1_000_000, 1000 + i));
            }
            long t0 = System.nanoTime();
            TestImages.Pushed pushed = image.push(reg, "bench/big", "v1");
            System.out.printf("image %s: %d layers, %.1f MB compressed (built and pushed in %.1f s)%n",
                    pushed.reference(), pushed.layerDigests().size(), pushed.size() / 1e6, (System.nanoTime() - t0) / 1e9);

            Map<String, List<Double>> results = new LinkedHashMap<>();
            try (BerthDaemon berth = BerthDaemon.start()) {
                results.put("berth", time(berth.client(), pushed, runs));
            }
            if (ReferenceContainerd.available()) {
                Path refRoot = Path.of("/tmp/berth-bench-ref-" + ProcessHandle.current().pid());
                Map<String, String> env = new LinkedHashMap<>();
                env.put("REF_ROOT", refRoot.toString());
                env.put("REF_RUN", "/run/berth-bench-ref-" + ProcessHandle.current().pid());
                env.put("REF_BRIDGE", "refbench0");
                env.put("REF_SUBNET", "10.94.0.0/16");
                env.put("REF_CGROUP_PARENT", "berth-bench-ref");
                env.put("REF_REGISTRY", reg.host());
                env.put("REF_NO_INSTALL", "1");
                try (ReferenceContainerd containerd = ReferenceContainerd.start(env)) {
                    results.put("containerd", time(containerd.client(), pushed, runs));
                } finally {
                    deleteTree(refRoot);
                }
            } else {
                System.out.println("containerd-ref is not available: containerd column skipped");
            }

            System.out.printf("%n%-12s %-6s %10s %10s%n", "runtime", "run", "seconds", "MB/s");
            for (Map.Entry<String, List<Double>> e : results.entrySet()) {
                List<Double> secs = e.getValue();
                for (int i = 0; i < secs.size(); i++) {
                    System.out.printf("%-12s %-6d %10.2f %10.1f%n", e.getKey(), i + 1, secs.get(i),
                            pushed.size() / 1e6 / secs.get(i));
                }
                List<Double> sorted = secs.stream().sorted().toList();
                double median = sorted.get(sorted.size() / 2);
                System.out.printf("%-12s %-6s %10.2f %10.1f%n", e.getKey(), "median", median, pushed.size() / 1e6 / median);
            }
        }
    }

    private static List<Double> time(CriClient client, TestImages.Pushed img, int runs) {
        List<Double> out = new ArrayList<>();
        ImageSpec spec = ImageSpec.newBuilder().setImage(img.reference()).build();
        for (int i = 0; i < runs; i++) {
            client.images().withDeadlineAfter(10, TimeUnit.MINUTES)
                    .removeImage(RemoveImageRequest.newBuilder().setImage(spec).build());
            long t = System.nanoTime();
            String id = client.images().withDeadlineAfter(10, TimeUnit.MINUTES)
                    .pullImage(PullImageRequest.newBuilder().setImage(spec).build()).getImageRef();
            double s = (System.nanoTime() - t) / 1e9;
            if (!id.equals(img.configDigest())) {
                throw new IllegalStateException("pulled " + id + ", expected " + img.configDigest());
            }
            out.add(s);
        }
        client.images().removeImage(RemoveImageRequest.newBuilder().setImage(spec).build());
        return out;
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (java.io.IOException e) {
            // best effort
        }
    }
}
