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
 * <p>Builds two images of about 200 MB and pushes them to a private docker-registry on 127.0.0.1:
 * {@code big} (busybox + LAYERS layers of one incompressible file each) and {@code files} (busybox +
 * LAYERS layers holding 20,000 small incompressible files in all). For each runtime it pulls each
 * image RUNS times into a cold store (RemoveImage in between frees every layer in both) and prints
 * seconds, MB/s (MB = 10^6 bytes of compressed blobs) and the CPU seconds the daemon used (user +
 * system, its reaped children included), with the median. containerd is Debian's, via
 * containerd-ref with its registry pointed at ours (the binary {@code REF_CONTAINERD} names, default
 * /usr/bin/containerd); skipped (with a note) when it is not installed.
 *
 * <p>Run (as root, after {@code ./mvnw -DskipTests package}):
 * <pre>
 * java -cp "conformance/target/classes:$(cat conformance/target/bench.classpath)" \
 *     -Dberth.home=. dev.berth.conformance.bench.PullBenchmark [runs] [layers] [MB per layer] [small files]
 * </pre>
 * (write bench.classpath with {@code mvn -pl conformance dependency:build-classpath
 * -Dmdep.outputFile=target/bench.classpath}). {@code BERTH_JAVA_OPTS} adds options to berth's JVM (for
 * example {@code -XX:StartFlightRecording=filename=/tmp/pull.jfr} to profile it); {@code BENCH_BERTH_ONLY=1}
 * skips containerd; {@code BENCH_IMAGES=big} or {@code files} pulls only that image.
 */
public final class PullBenchmark {
    private PullBenchmark() {}

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        long mbPerLayer = args.length > 2 ? Long.parseLong(args[2]) : 40;
        int smallFiles = args.length > 3 ? Integer.parseInt(args[3]) : 20_000;
        try (LocalRegistry reg = LocalRegistry.start()) {
            List<TestImages.Pushed> images = new ArrayList<>();
            String only = System.getenv().getOrDefault("BENCH_IMAGES", "big,files");
            if (only.contains("big")) {
                TestImages.Image big = TestImages.image().layer(TestImages.busyboxLayer());
                for (int i = 0; i < layers; i++) {
                    big.layer(new TestImages.Layer().randomFile("/data/blob" + i, mbPerLayer * 1_000_000, 1000 + i));
                }
                images.add(pushTimed(big, reg, "bench/big"));
            }
            if (only.contains("files")) {
                // the same bytes as many small files: per-entry costs (create, write, close, metadata)
                TestImages.Image files = TestImages.image().layer(TestImages.busyboxLayer());
                long fileSize = layers * mbPerLayer * 1_000_000 / smallFiles;
                java.util.Random random = new java.util.Random(42);
                for (int i = 0; i < layers; i++) {
                    TestImages.Layer l = new TestImages.Layer();
                    for (int f = i; f < smallFiles; f += layers) {
                        byte[] content = new byte[(int) fileSize];
                        random.nextBytes(content);
                        l.file("/data/d" + (f % 100) + "/f" + f, content, 0644);
                    }
                    files.layer(l);
                }
                images.add(pushTimed(files, reg, "bench/files"));
            }

            Map<String, Map<TestImages.Pushed, List<double[]>>> results = new LinkedHashMap<>();
            BerthDaemon berth = BerthDaemon.prepare(StepBreakdown.DAEMON_ENV).jvmOptions(BerthDaemon.benchJvmOptions());
            try (berth) {
                berth.startProcess();
                long pid = dev.berth.conformance.soak.Census.daemonJavaPid(berth);
                results.put("berth", timeAll(berth.client(), images, runs, pid));
                StepBreakdown.print(berth.log(), "PullImage");
            }
            if (System.getenv("BENCH_BERTH_ONLY") != null) {
                System.out.println("BENCH_BERTH_ONLY is set: containerd column skipped");
            } else if (ReferenceContainerd.available()) {
                Map<String, String> env = ReferenceContainerd.benchEnv("bench", "10.94.0.0/16", reg.host());
                Path refRoot = Path.of(env.get("REF_ROOT"));
                try (ReferenceContainerd containerd = ReferenceContainerd.start(env)) {
                    long pid = Long.parseLong(Files.readString(refRoot.resolve("containerd.pid")).strip());
                    results.put("containerd " + containerdVersion(), timeAll(containerd.client(), images, runs, pid));
                } finally {
                    deleteTree(refRoot);
                }
            } else {
                System.out.println("containerd-ref is not available: containerd column skipped");
            }

            for (TestImages.Pushed img : images) {
                System.out.printf("%n%s: %d layers, %.1f MB compressed%n", img.reference(), img.layerDigests().size(),
                        img.size() / 1e6);
                System.out.printf("%-22s %-6s %10s %10s %12s%n", "runtime", "run", "seconds", "MB/s", "CPU seconds");
                List<Double> medians = new ArrayList<>();
                for (Map.Entry<String, Map<TestImages.Pushed, List<double[]>>> e : results.entrySet()) {
                    List<double[]> r = e.getValue().get(img);
                    for (int i = 0; i < r.size(); i++) {
                        System.out.printf("%-22s %-6d %10.2f %10.1f %12.2f%n", e.getKey(), i + 1, r.get(i)[0],
                                img.size() / 1e6 / r.get(i)[0], r.get(i)[1]);
                    }
                    double median = median(r, 0);
                    medians.add(median);
                    System.out.printf("%-22s %-6s %10.2f %10.1f %12.2f%n", e.getKey(), "median", median,
                            img.size() / 1e6 / median, median(r, 1));
                }
                if (medians.size() == 2) {
                    System.out.printf("berth is %.2fx as fast (goal: 1.5x)%n", medians.get(1) / medians.get(0));
                }
            }
        }
    }

    private static TestImages.Pushed pushTimed(TestImages.Image image, LocalRegistry reg, String repository) {
        long t0 = System.nanoTime();
        TestImages.Pushed pushed = image.push(reg, repository, "v1");
        System.out.printf("image %s: %d layers, %.1f MB compressed (built and pushed in %.1f s)%n",
                pushed.reference(), pushed.layerDigests().size(), pushed.size() / 1e6, (System.nanoTime() - t0) / 1e9);
        return pushed;
    }

    private static double median(List<double[]> runs, int column) {
        List<Double> sorted = runs.stream().map(r -> r[column]).sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    private static Map<TestImages.Pushed, List<double[]>> timeAll(CriClient client, List<TestImages.Pushed> images,
            int runs, long daemonPid) throws java.io.IOException {
        Map<TestImages.Pushed, List<double[]>> out = new LinkedHashMap<>();
        for (TestImages.Pushed img : images) {
            out.put(img, time(client, img, runs, daemonPid));
        }
        return out;
    }

    /** {seconds, CPU seconds of the daemon} per pull. */
    private static List<double[]> time(CriClient client, TestImages.Pushed img, int runs, long daemonPid)
            throws java.io.IOException {
        List<double[]> out = new ArrayList<>();
        ImageSpec spec = ImageSpec.newBuilder().setImage(img.reference()).build();
        for (int i = 0; i < runs; i++) {
            client.images().withDeadlineAfter(10, TimeUnit.MINUTES)
                    .removeImage(RemoveImageRequest.newBuilder().setImage(spec).build());
            double cpu0 = cpuSeconds(daemonPid);
            long t = System.nanoTime();
            String id = client.images().withDeadlineAfter(10, TimeUnit.MINUTES)
                    .pullImage(PullImageRequest.newBuilder().setImage(spec).build()).getImageRef();
            double s = (System.nanoTime() - t) / 1e9;
            double cpu = cpuSeconds(daemonPid) - cpu0;
            if (!id.equals(img.configDigest())) {
                throw new IllegalStateException("pulled " + id + ", expected " + img.configDigest());
            }
            out.add(new double[] {s, cpu});
        }
        client.images().removeImage(RemoveImageRequest.newBuilder().setImage(spec).build());
        return out;
    }

    /** utime + stime + cutime + cstime of a process, in seconds (USER_HZ is 100 on Linux). */
    private static double cpuSeconds(long pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        // the fields after the command name (which may hold spaces) start past its closing parenthesis
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
        return ticks / 100.0;
    }

    private static String containerdVersion() {
        String binary = System.getenv().getOrDefault("REF_CONTAINERD", "/usr/bin/containerd");
        String[] words = dev.berth.conformance.harness.Commands.run(binary, "--version").output()
                .strip().split("\\s+");
        return words.length >= 3 ? words[2] : "?";
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
