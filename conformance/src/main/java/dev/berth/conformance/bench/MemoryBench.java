package dev.berth.conformance.bench;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.ReferenceContainerd;
import dev.berth.conformance.harness.TestImages;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemoveImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * The daemon's memory budget, berth beside containerd 1.7 in one run: PSS of the daemon idle, with
 * 20 and 100 running containers (daemon + conmon / containerd-shim-runc-v2 monitors), after a burst (image
 * pulls and pod cycles) and after settling. For berth each sample also prints where the JVM's
 * memory goes (Native Memory Tracking summary: heap, metaspace and class space, code cache, thread
 * stacks, GC, "Other" = direct buffers, symbols...) and the PSS of the mappings by kind (anonymous,
 * libjvm, CDS archive, other files), so the budget is visible.
 *
 * <p>Usage: {@code ./berth bench memory [cycles=100] [settle seconds=45] [idle|berth-only|containerd-only]}; "idle"
 * (with [seconds=5] to wait after start, polled as kubelet polls) measures the idle daemon only (quick, for trying JVM flags), "berth-only" skips containerd,
 * "containerd-only" skips berth. {@code REF_CONTAINERD} names the reference containerd binary
 * (default /usr/bin/containerd; its shim is taken from the same directory), e.g. 1.7.24 beside
 * bookworm's 1.6.20. {@code BERTH_JAVA_OPTS} adds JVM options to
 * berth's production flags, as in /etc/default/berth. berth runs with its launchers' class archive,
 * written first by a training run; {@code BENCH_NO_CLASS_ARCHIVE=1} measures it without one, and
 * {@code BENCH_NO_NMT=1} without Native Memory Tracking (as on a node; no breakdown then). The
 * idle and running-containers samples are taken after {@value #STEADY_SECONDS} s of kubelet-like
 * polling (both runtimes alike), the settled one after the settle time, polled the same way.
 */
public final class MemoryBench {
    /** The running-container counts sampled (issue 15: CRI-O's 86 MiB at 20, 143 at 100). */
    private static final int[] RUNNING = {20, 100};
    /**
     * How long the steady samples (idle, running containers) wait, polled as kubelet polls: on a
     * node a daemon with running pods spends most of its time there, and berth's idle trim checks
     * every 15 s and pages out at its first two quiet checks, so both have run before the sample.
     */
    private static final int STEADY_SECONDS = 50;
    private static final int PULL_IMAGES = 3;
    /**
     * Whether berth runs with Native Memory Tracking, for the per-category breakdown. NMT's own
     * bookkeeping adds about 1 MiB to the daemon's PSS; BENCH_NO_NMT=1 measures it as a node runs it.
     */
    private static final boolean NMT = System.getenv("BENCH_NO_NMT") == null;

    /** The daemon logs each idle heap trim at DEBUG. */
    private static final Map<String, String> TRIM_LOG = Map.of("QUARKUS_LOG_CATEGORY__DEV_BERTH_SERVER_MEMORY__LEVEL", "DEBUG");

    private MemoryBench() {}

    /** One labelled PSS sample: daemon alone, and daemon plus its per-container monitors. */
    record Sample(String label, long daemonPss, long totalPss, long processes, int threads, String detail) {}

    interface Runtime {
        CriClient client();

        long pid();

        Predicate<String> monitor();

        String detail() throws IOException;
    }

    public static void main(String[] args) throws Exception {
        List<String> numbers = Arrays.stream(args).filter(a -> a.matches("\\d+")).toList();
        int cycles = numbers.size() > 0 ? Integer.parseInt(numbers.get(0)) : 100;
        int settle = numbers.size() > 1 ? Integer.parseInt(numbers.get(1)) : 45;
        boolean idleOnly = Arrays.asList(args).contains("idle");
        boolean berthOnly = Arrays.asList(args).contains("berth-only");
        boolean containerdOnly = Arrays.asList(args).contains("containerd-only");
        List<String> extra = new ArrayList<>(NMT ? List.of("-XX:NativeMemoryTracking=summary") : List.of());
        extra.addAll(BerthDaemon.benchJvmOptions());
        Path archiveDir = null;
        if (System.getenv("BENCH_NO_CLASS_ARCHIVE") == null && !containerdOnly) {
            archiveDir = Files.createTempDirectory("bench-mem-archive");
            extra.addAll(BerthDaemon.classArchiveFlags(archiveDir.resolve("berth-daemon.jsa")));
        }
        System.out.println("berth JVM: " + String.join(" ", BerthDaemon.JVM_FLAGS) + " " + String.join(" ", extra));
        try {
            run(numbers, cycles, settle, idleOnly, berthOnly, containerdOnly, extra, archiveDir);
        } finally {
            if (archiveDir != null) {
                deleteTree(archiveDir);
            }
        }
    }

    /**
     * As on a node, berth runs with the class archive its previous run wrote at a clean exit: a
     * training run (start, and for the full bench a pull and a pod with a container) writes it.
     */
    static void train(List<String> extra, Path archive, String image) throws Exception {
        long t0 = System.nanoTime();
        BerthDaemon d = BerthDaemon.prepare(Map.of()).jvmOptions(extra);
        try (d) {
            d.startProcess();
            if (image != null) {
                d.client().images().pullImage(PullImageRequest.newBuilder()
                        .setImage(ImageSpec.newBuilder().setImage(image)).build());
                remove(d.client(), podWithContainer(d.client(), image, d.base().resolve("logs"), "train"));
            }
            d.stop();
        }
        if (Files.exists(archive)) {
            // On a node the archive was written at the previous exit, long since on disk; a page still
            // dirty from the training run's write could not be paged out by the idle daemon.
            try (FileChannel ch = FileChannel.open(archive, StandardOpenOption.READ)) {
                ch.force(true);
            }
        }
        System.out.printf("berth class archive: %s, %.1f MiB, training run %d s%n", archive,
                Files.exists(archive) ? Files.size(archive) / 1048576.0 : 0.0, (System.nanoTime() - t0) / 1_000_000_000L);
    }

    private static void run(List<String> numbers, int cycles, int settle, boolean idleOnly,
            boolean berthOnly, boolean containerdOnly, List<String> extra, Path archiveDir) throws Exception {
        Path archive = archiveDir == null ? null : archiveDir.resolve("berth-daemon.jsa");
        if (idleOnly) {
            if (archive != null) {
                train(extra, archive, null);
            }
            BerthDaemon d = BerthDaemon.prepare(TRIM_LOG).jvmOptions(extra);
            try (d) {
                d.startProcess();
                Runtime rt = berth(d);
                pollLikeKubelet(d.client(), numbers.isEmpty() ? 5 : Integer.parseInt(numbers.get(0)));
                print("berth", List.of(sample("idle", rt)));
                printTrimLog(d);
                if (System.getenv("BENCH_NMT_RAW") != null) {
                    System.out.println(Commands.run(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                            Long.toString(d.pid()), "VM.native_memory", "summary").output());
                    System.out.println(Commands.run("sh", "-c", "ls /proc/" + d.pid() + "/task | while read t; do cat /proc/"
                            + d.pid() + "/task/$t/comm; done | sort | uniq -c").output());
                    System.out.println(Commands.run(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                            Long.toString(d.pid()), "GC.heap_info").output());
                    Files.writeString(Path.of("/tmp/perf15c-classes.txt"), Commands.run(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                            Long.toString(d.pid()), "VM.class_hierarchy").output());
                }
            }
            return;
        }
        try (LocalRegistry reg = LocalRegistry.start()) {
            String busybox = TestImages.pushBusybox(reg, "library/busybox", "mem").reference();
            List<String> burst = new ArrayList<>();
            for (int i = 0; i < PULL_IMAGES; i++) {
                TestImages.Image img = TestImages.image().layer(TestImages.busyboxLayer());
                for (int l = 0; l < 3; l++) {
                    img.layer(new TestImages.Layer().randomFile("/data/b" + l, 20_000_000, 7000 + 10 * i + l));
                }
                burst.add(img.push(reg, "mem/burst" + i, "v1").reference());
            }
            if (!containerdOnly) {
                if (archive != null) {
                    train(extra, archive, busybox);
                }
                List<Sample> berth = new ArrayList<>();
                BerthDaemon d = BerthDaemon.prepare(TRIM_LOG).jvmOptions(extra);
                try (d) {
                    d.startProcess();
                    berth = workload(berth(d), busybox, burst, cycles, settle, d.base().resolve("logs"));
                    printTrimLog(d);
                } catch (io.grpc.StatusRuntimeException e) {
                    System.out.println("berth could not run the benchmark: " + e.getStatus());
                }
                print("berth", berth);
            }
            if (berthOnly) {
                return;
            }
            if (ReferenceContainerd.available()) {
                Map<String, String> env = ReferenceContainerd.benchEnv("bench-mem", "10.95.0.0/16", reg.host());
                Path refRoot = Path.of(env.get("REF_ROOT"));
                String binary = System.getenv().getOrDefault("REF_CONTAINERD", "/usr/bin/containerd");
                env.put("REF_CONTAINERD", binary);
                try (ReferenceContainerd c = ReferenceContainerd.start(env)) {
                    Path logs = Files.createTempDirectory("bench-mem-containerd-logs");
                    long pid = Long.parseLong(Files.readString(refRoot.resolve("containerd.pid")).strip());
                    String sock = c.endpoint().replace("unix://", "");
                    Runtime rt = new Runtime() {
                        public CriClient client() {
                            return c.client();
                        }

                        public long pid() {
                            return pid;
                        }

                        public Predicate<String> monitor() {
                            return cmd -> cmd.contains("containerd-shim-runc-v2") && cmd.contains(sock);
                        }

                        public String detail() {
                            return "";
                        }
                    };
                    print("containerd " + version(binary), workload(rt, busybox, burst, cycles, settle, logs));
                    deleteTree(logs);
                } finally {
                    deleteTree(refRoot);
                }
            } else {
                System.out.println("containerd-ref is not available: containerd skipped");
            }
        }
    }

    static Runtime berth(BerthDaemon d) {
        String run = d.run().toString();
        return new Runtime() {
            public CriClient client() {
                return d.client();
            }

            public long pid() {
                return d.pid();
            }

            public Predicate<String> monitor() {
                return cmd -> cmd.contains("conmon") && cmd.contains(run);
            }

            public String detail() throws IOException {
                return (NMT ? nmt(d.pid()) : "NMT off (BENCH_NO_NMT): no breakdown") + "\n" + mappings(d.pid());
            }
        };
    }

    static List<Sample> workload(Runtime rt, String busybox, List<String> burst, int cycles, int settle, Path logs)
            throws Exception {
        CriClient cri = rt.client();
        List<Sample> out = new ArrayList<>();
        cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(busybox)).build());
        pollLikeKubelet(cri, STEADY_SECONDS);
        out.add(sample("idle (busybox pulled)", rt));
        List<String[]> running = new ArrayList<>();
        for (int count : RUNNING) {
            while (running.size() < count) {
                running.add(podWithContainer(cri, busybox, logs, "run-" + running.size()));
            }
            pollLikeKubelet(cri, STEADY_SECONDS);
            out.add(sample(count + " running containers", rt));
        }
        for (String[] pc : running) {
            remove(cri, pc);
        }
        for (String image : burst) {
            ImageSpec spec = ImageSpec.newBuilder().setImage(image).build();
            cri.images().withDeadlineAfter(10, TimeUnit.MINUTES).pullImage(PullImageRequest.newBuilder().setImage(spec).build());
        }
        for (int i = 0; i < cycles; i++) {
            remove(cri, podWithContainer(cri, busybox, logs, "cycle-" + i));
        }
        for (String image : burst) {
            cri.images().removeImage(RemoveImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
        }
        out.add(sample("after " + burst.size() + " pulls (60 MB each) + " + cycles + " pod cycles", rt));
        pollLikeKubelet(cri, settle);
        out.add(sample("settled " + settle + " s later", rt));
        return out;
    }

    /** The daemon's start-up line and every idle-trim line (heap and mapped files) of its log. */
    private static void printTrimLog(BerthDaemon d) {
        d.logText().lines().filter(l -> l.contains(" idle: ") || l.contains("started in"))
                .forEach(l -> System.out.println("berth log: " + l));
    }

    /** kubelet's PLEG relist, once a second for {@code seconds}: every pod and container listed. */
    static void pollLikeKubelet(CriClient cri, int seconds) throws InterruptedException {
        for (int i = 0; i < seconds; i++) {
            cri.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance());
            cri.runtime().listContainers(ListContainersRequest.getDefaultInstance());
            Thread.sleep(1000);
        }
    }

    static String[] podWithContainer(CriClient cri, String image, Path logs, String name) throws IOException {
        Path dir = Files.createDirectories(logs.resolve(name));
        PodSandboxConfig pc = BenchPods.pod(name, "bench-mem", dir, BenchPods.NODE_NETWORK);
        String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pc).build()).getPodSandboxId();
        String ctr = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                .setSandboxConfig(pc).setConfig(BenchPods.sleeper(image, BenchPods.NODE_NETWORK))
                .build()).getContainerId();
        cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(ctr).build());
        return new String[] {pod, ctr};
    }

    static void remove(CriClient cri, String[] pc) {
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(pc[1]).setTimeout(0).build());
        cri.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(pc[1]).build());
        cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pc[0]).build());
        cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pc[0]).build());
    }

    static Sample sample(String label, Runtime rt) throws IOException {
        long[] daemon = ProcessMemory.rssPss(Path.of("/proc", Long.toString(rt.pid())));
        long[] all = ProcessMemory.total(rt.pid(), rt.monitor());
        int threads = 0;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(rt.pid()), "status"))) {
            if (line.startsWith("Threads:")) {
                threads = (int) ProcessMemory.number(line);
            }
        }
        return new Sample(label, daemon[1], all[1], all[2], threads, rt.detail());
    }

    static void print(String runtime, List<Sample> samples) {
        System.out.printf("%n== %s: PSS in MiB%n", runtime);
        System.out.printf("%-44s %8s %8s %s%n", "when", "daemon", "+monitors", "(processes, daemon threads)");
        for (Sample s : samples) {
            System.out.printf("%-44s %8.1f %8.1f (%d, %d)%n", s.label(), s.daemonPss() / 1024.0, s.totalPss() / 1024.0,
                    s.processes(), s.threads());
        }
        for (Sample s : samples) {
            if (!s.detail().isEmpty()) {
                System.out.printf("%n-- %s: %s%n%s%n", runtime, s.label(), s.detail());
            }
        }
    }

    private static final Pattern NMT_LINE = Pattern.compile(
            "^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");
    private static final Pattern NMT_STACK = Pattern.compile("\\(stack: reserved=(\\d+)KB, committed=(\\d+)KB\\)");
    private static final Pattern NMT_THREADS = Pattern.compile("\\(threads? #(\\d+)\\)");

    /** The committed memory of each NMT category (jcmd VM.native_memory summary), largest first. */
    static String nmt(long pid) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Commands.Result r = Commands.run(jcmd.toString(), Long.toString(pid), "VM.native_memory", "summary");
        if (r.exitCode() != 0) {
            return "NMT: jcmd failed: " + r.output().strip();
        }
        Map<String, Long> committed = new LinkedHashMap<>();
        String category = null;
        String total = "";
        String threadNote = "";
        for (String line : r.output().split("\n")) {
            String t = line.strip();
            if (t.startsWith("Total: reserved=")) {
                total = t;
            }
            Matcher m = NMT_LINE.matcher(t);
            if (m.find()) {
                category = m.group(1).strip();
                committed.put(category, Long.parseLong(m.group(3)));
                continue;
            }
            Matcher th = NMT_THREADS.matcher(t);
            if ("Thread".equals(category) && th.find()) {
                threadNote = th.group(1) + " threads";
            }
            Matcher st = NMT_STACK.matcher(t);
            if ("Thread".equals(category) && st.find()) {
                threadNote += ", stacks " + kib(Long.parseLong(st.group(2)));
            }
        }
        String threads = threadNote;
        StringBuilder sb = new StringBuilder("NMT committed (MiB): ");
        committed.entrySet().stream().filter(e -> e.getValue() >= 256)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> sb.append(e.getKey()).append(' ').append(kib(e.getValue()))
                        .append(e.getKey().equals("Thread") ? " (" + threads + ")" : "")
                        .append(e.getKey().equals("Other") ? " (direct buffers)" : "").append(", "));
        sb.append("\nNMT ").append(total.replaceAll("KB", " KiB"));
        return sb.toString();
    }

    private static final Pattern MAPPING = Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    /** PSS of the daemon's mappings by kind: anonymous (heap, metaspace, stacks, malloc), libjvm, CDS, others. */
    static String mappings(long pid) throws IOException {
        Map<String, Long> pss = new LinkedHashMap<>();
        String kind = "anonymous";
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps"))) {
            if (MAPPING.matcher(line).lookingAt()) {
                String[] f = line.trim().split("\\s+", 6);
                String path = f.length > 5 ? f[5] : "";
                kind = path.isEmpty() || path.startsWith("[") ? "anonymous"
                        : path.endsWith("libjvm.so") ? "libjvm.so"
                        : path.endsWith(".jsa") || path.endsWith(".aot") || path.endsWith("/modules") ? "CDS/AOT/modules"
                        : path.endsWith(".jar") ? "jars"
                        : path.contains(".so") ? "other libraries"
                        : "other files";
            } else if (line.startsWith("Pss:")) {
                pss.merge(kind, ProcessMemory.number(line), Long::sum);
            }
        }
        StringBuilder sb = new StringBuilder("PSS by mapping (MiB): ");
        pss.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> sb.append(e.getKey()).append(' ').append(kib(e.getValue())).append(", "));
        return sb.substring(0, sb.length() - 2);
    }

    private static String kib(long k) {
        return String.format("%.1f", k / 1024.0);
    }

    private static String version(String binary) {
        String v = Commands.run(binary, "--version").output().strip();
        String[] f = v.split("\\s+");
        return f.length > 2 ? f[2] : v;
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
