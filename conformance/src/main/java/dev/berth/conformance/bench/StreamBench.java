package dev.berth.conformance.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.ReferenceContainerd;
import dev.berth.streamclient.SpdyStreamClient;
import dev.berth.conformance.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PortForwardRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * The streaming path on berth and on Debian's containerd in one run, through the same CRI and SPDY
 * clients (the SPDY/3.1 protocols kubectl uses): the exec round trip, {@code Exec} of
 * {@code sh -c 'exit 0'} plus the upgrade of its URL until the exit status arrives, p50/p99 over N
 * runs; and port-forward throughput, a file of M MiB fetched over HTTP through {@code PortForward}
 * from busybox httpd in a pod on the pod network, best of 3. Run as root from the repository root
 * ({@code ./berth bench stream [runs] [MiB]}).
 */
public final class StreamBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PORT = 8080;
    private static final List<String> EXEC_PROTOCOLS = List.of("v4.channel.k8s.io", "v3.channel.k8s.io");

    record Result(List<Long> execMicros, List<Double> mbPerSecond) {}

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        try (LocalRegistry reg = LocalRegistry.start()) {
            String image = TestImages.pushBusybox(reg, "library/busybox", "bench").reference();
            Result berth = null;
            try (BerthDaemon d = BerthDaemon.start()) {
                berth = run(d.client(), image, runs, mib, d.base().resolve("logs"));
            } catch (io.grpc.StatusRuntimeException e) {
                System.out.println("berth could not run the benchmark: " + e.getStatus());
            }
            Result ref = null;
            if (ReferenceContainerd.available()) {
                try (ReferenceContainerd c = ReferenceContainerd.start(Map.of("REF_REGISTRY", reg.host()))) {
                    Path logs = Files.createTempDirectory("bench-containerd-logs");
                    try {
                        ref = run(c.client(), image, runs, mib, logs);
                    } finally {
                        dev.berth.conformance.harness.Commands.run("rm", "-rf", logs.toString());
                    }
                }
            }
            print(runs, mib, berth, ref);
        }
    }

    static Result run(CriClient cri, String image, int runs, int mib, Path logs) throws Exception {
        cri.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
        NamespaceOption ns = NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
                .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD).build();
        Files.createDirectories(logs);
        PodSandboxConfig pc = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName("stream-bench").setNamespace("bench")
                        .setUid(UUID.randomUUID().toString()))
                .setLogDirectory(logs.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(
                        LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(ns)))
                .build();
        String pod = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pc).build())
                .getPodSandboxId();
        try {
            String ctr = cri.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                    .setSandboxConfig(pc).setConfig(ContainerConfig.newBuilder()
                            .setMetadata(ContainerMetadata.newBuilder().setName("web"))
                            .setImage(ImageSpec.newBuilder().setImage(image))
                            .addCommand("sh").addCommand("-c").addCommand("mkdir -p /www && head -c " + ((long) mib << 20)
                                    + " /dev/zero > /www/big && echo ok > /www/ok && exec busybox httpd -f -p "
                                    + PORT + " -h /www")
                            .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                                    LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(ns)))
                            .setLogPath("web.log"))
                    .build()).getContainerId();
            cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(ctr).build());
            awaitHttpd(cri, ctr);

            List<Long> exec = new ArrayList<>();
            for (int i = 0; i < runs + 3; i++) {
                long t0 = System.nanoTime();
                execExit0(cri, ctr);
                if (i >= 3) { // the first ones warm up both sides
                    exec.add((System.nanoTime() - t0) / 1000);
                }
            }
            List<Double> mbs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                mbs.add(fetchThroughPortForward(cri, pod, (long) mib << 20));
            }
            return new Result(exec, mbs);
        } finally {
            cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        }
    }

    private static void awaitHttpd(CriClient cri, String ctr) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(ctr).setTimeout(10)
                .addCmd("wget").addCmd("-q").addCmd("-O-").addCmd("http://127.0.0.1:" + PORT + "/ok").build())
                .getStdout().toStringUtf8().equals("ok\n")) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("httpd in the pod did not answer");
            }
            Thread.sleep(50);
        }
    }

    /** Exec + the SPDY upgrade + the exit status, as {@code kubectl exec} does it. */
    private static void execExit0(CriClient cri, String ctr) throws Exception {
        String url = cri.runtime().exec(ExecRequest.newBuilder().setContainerId(ctr).addCmd("sh").addCmd("-c")
                .addCmd("exit 0").setStdout(true).setStderr(true).build()).getUrl();
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, EXEC_PROTOCOLS)) {
            var error = c.openNoWait(Map.of("streamType", "error"));
            c.openNoWait(Map.of("streamType", "stdout"));
            c.openNoWait(Map.of("streamType", "stderr"));
            String status = error.text(Duration.ofSeconds(60));
            if (!"Success".equals(JSON.readTree(status).path("status").asText())) {
                throw new IllegalStateException("exec failed: " + status);
            }
        }
    }

    /** MB/s (10^6 bytes) of one HTTP GET of the big file, from the PortForward call to the last byte. */
    private static double fetchThroughPortForward(CriClient cri, String pod, long size) throws Exception {
        long t0 = System.nanoTime();
        String url = cri.runtime().portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod).addPort(PORT)
                .build()).getUrl();
        try (SpdyStreamClient c = SpdyStreamClient.connect(url, List.of("portforward.k8s.io"))) {
            String port = Integer.toString(PORT);
            var error = c.open(Map.of("streamType", "error", "port", port, "requestID", "0"));
            var data = c.open(Map.of("streamType", "data", "port", port, "requestID", "0"));
            data.discard();
            data.write("GET /big HTTP/1.0\r\n\r\n");
            data.ended().get(600, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (data.receivedBytes() < size) {
                throw new IllegalStateException("port-forward got " + data.receivedBytes() + " of " + size
                        + " bytes: " + error.soFar());
            }
            return data.receivedBytes() / 1e6 / seconds;
        }
    }

    static void print(int runs, int mib, Result b, Result c) {
        System.out.printf("%nstreaming (SPDY/3.1 as kubectl), busybox pod on the pod network%n");
        System.out.printf("%-40s %14s %14s%n", "", "berth", "containerd");
        System.out.printf("%-40s %14s %14s%n", "exec sh -c 'exit 0' round trip p50 (ms)",
                ms(b, 0.5), ms(c, 0.5));
        System.out.printf("%-40s %14s %14s%n", "exec round trip p99 (ms), " + runs + " runs", ms(b, 0.99), ms(c, 0.99));
        System.out.printf("%-40s %14s %14s%n", "port-forward " + mib + " MiB, best of 3 (MB/s)", best(b), best(c));
    }

    private static String ms(Result r, double p) {
        return r == null ? "-" : String.format("%.1f", ContainerBench.pct(r.execMicros(), p) / 1000.0);
    }

    private static String best(Result r) {
        return r == null ? "-" : String.format("%.0f", r.mbPerSecond().stream().mapToDouble(d -> d).max().orElse(0));
    }

    private StreamBench() {}
}
