package dev.berth.conformance.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.berth.conformance.harness.CriClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import runtime.v1.Capability;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerFilter;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStateValue;
import runtime.v1.ContainerStatus;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.ImageSpec;
import runtime.v1.Int64Value;
import runtime.v1.KeyValue;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListContainersRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.ReopenContainerLogRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * Container behaviour every CRI runtime must show, run against berth and against the reference
 * containerd with the same calls. Subclasses supply the endpoint and a pulled busybox image.
 */
abstract class ContainerContract {
    abstract CriClient cri();

    /** A busybox image (TestImages' rootfs) already pulled on the runtime. */
    abstract String image();

    abstract Path logRoot();

    /** Whether a container that exits at once still reports finished_at >= started_at. */
    boolean finishedNeverBeforeStarted() {
        return true;
    }

    /**
     * Whether StopContainer returns only after the exit is recorded, so the next ContainerStatus says
     * EXITED. berth does; containerd can answer first when the process ends on its own during the stop.
     */
    boolean stopReturnsAfterExitIsRecorded() {
        return true;
    }

    /**
     * Whether StopContainer and StopPodSandbox of an unknown id succeed (the CRI contract; berth,
     * containerd 1.7; containerd 1.6 answers NotFound).
     */
    boolean stopsUnknownIdsQuietly() {
        return true;
    }

    /**
     * Whether a request the runtime refuses is refused by CreateContainer with a reason and a
     * status code (berth); otherwise any failure of create or start will do (containerd answers
     * Unknown, or leaves a capability it cannot grant for runc to fail on at start).
     */
    boolean refusesAtCreateWithCode() {
        return true;
    }

    /** A running pod on the host network; the caller removes it. */
    String runPod(String name) throws IOException {
        return runPod(name, false);
    }

    String runPod(String name, boolean privileged) throws IOException {
        Path logs = Files.createDirectories(logRoot().resolve(name + "-" + UUID.randomUUID()));
        PodSandboxConfig cfg = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("conformance")
                        .setUid(UUID.randomUUID().toString()))
                .setLogDirectory(logs.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext
                        .newBuilder().setNamespaceOptions(NAMESPACES).setPrivileged(privileged)))
                .build();
        lastPodConfig = cfg;
        return cri().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(cfg).build())
                .getPodSandboxId();
    }

    PodSandboxConfig lastPodConfig;

    /** As kubelet sends them for a hostNetwork pod without shareProcessNamespace. */
    static final NamespaceOption NAMESPACES = NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)
            .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD).build();

    void removePod(String podId) {
        cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    }

    ContainerConfig.Builder container(String name, String... cmd) {
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(image()))
                .addAllCommand(List.of(cmd))
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(NAMESPACES)))
                .setLogPath(name + ".log");
    }

    String create(String podId, ContainerConfig c) {
        return cri().runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(podId)
                .setConfig(c).setSandboxConfig(lastPodConfig).build()).getContainerId();
    }

    void start(String id) {
        cri().runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    }

    ContainerStatus status(String id) {
        return cri().runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
                .getStatus();
    }

    ContainerStatus awaitExit(String id) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            ContainerStatus s = status(id);
            if (s.getState() == ContainerState.CONTAINER_EXITED) {
                return s;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("container " + id + " did not exit");
    }

    ExecSyncResponse exec(String id, long timeout, String... cmd) {
        return cri().runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id).addAllCmd(List.of(cmd))
                .setTimeout(timeout).build());
    }

    void remove(String id) {
        cri().runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    }

    /** Messages of one stream in a CRI log file, after checking each line's format. */
    static List<String> log(Path file, String stream) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            String[] f = line.split(" ", 4);
            assertTrue(f[0].matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+([+-]\\d\\d:\\d\\d|Z)"), line);
            assertTrue(f[2].equals("F") || f[2].equals("P"), line);
            if (f[1].equals(stream)) {
                out.add(f.length > 3 ? f[3] : "");
            }
        }
        return out;
    }

    @Test
    void exitCodeReasonAndCriLogs() throws Exception {
        String pod = runPod("exits");
        try {
            String id = create(pod, container("c", "sh", "-c", "echo out; echo err >&2; exit 3").build());
            assertEquals(ContainerState.CONTAINER_CREATED, status(id).getState());
            start(id);
            ContainerStatus s = awaitExit(id);
            assertEquals(3, s.getExitCode());
            assertEquals("Error", s.getReason());
            assertTrue(s.getStartedAt() > 0 && s.getFinishedAt() > 0, s.toString());
            if (finishedNeverBeforeStarted()) {
                assertTrue(s.getFinishedAt() >= s.getStartedAt(), "started " + s.getStartedAt() + ", finished "
                        + s.getFinishedAt());
            }
            Path logFile = Path.of(lastPodConfig.getLogDirectory(), "c.log");
            assertEquals(logFile.toString(), s.getLogPath());
            assertEquals(List.of("out"), log(logFile, "stdout"));
            assertEquals(List.of("err"), log(logFile, "stderr"));
            String ok = create(pod, container("ok", "true").build());
            start(ok);
            ContainerStatus okStatus = awaitExit(ok);
            assertEquals(0, okStatus.getExitCode());
            assertEquals("Completed", okStatus.getReason());
            remove(id);
            remove(id);
            remove(ok);
        } finally {
            removePod(pod);
        }
    }

    @Test
    void envArgsWorkdirAndUser() throws Exception {
        String pod = runPod("env");
        try {
            String id = create(pod, container("c", "sh", "-c", "echo $GREETING; pwd; id -u; id -g")
                    .addEnvs(KeyValue.newBuilder().setKey("GREETING").setValue(ByteString.copyFromUtf8("hi there")))
                    .setWorkingDir("/tmp")
                    .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext
                            .newBuilder().setNamespaceOptions(NAMESPACES)
                            .setRunAsUser(Int64Value.newBuilder().setValue(1000))))
                    .build());
            start(id);
            ContainerStatus s = awaitExit(id);
            assertEquals(0, s.getExitCode());
            assertEquals(List.of("hi there", "/tmp", "1000", "1000"), log(Path.of(s.getLogPath()), "stdout"));
            remove(id);
        } finally {
            removePod(pod);
        }
    }

    @Test
    void readonlyRootfsRefusesWrites() throws Exception {
        String pod = runPod("ro");
        try {
            String id = create(pod, container("c", "touch", "/file")
                    .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext
                            .newBuilder().setNamespaceOptions(NAMESPACES).setReadonlyRootfs(true))).build());
            start(id);
            ContainerStatus s = awaitExit(id);
            assertNotEquals(0, s.getExitCode());
            assertTrue(String.join("", log(Path.of(s.getLogPath()), "stderr")).contains("Read-only file system"));
            remove(id);
        } finally {
            removePod(pod);
        }
    }

    @Test
    void execSyncStopAndListFilters() throws Exception {
        String pod = runPod("exec");
        try {
            String id = create(pod, container("sleeper", "sleep", "1000").putLabels("role", "sleeper").build());
            start(id);
            assertEquals(ContainerState.CONTAINER_RUNNING, status(id).getState());
            ExecSyncResponse r = exec(id, 10, "sh", "-c", "echo hello; echo oops >&2; exit 4");
            assertEquals(4, r.getExitCode());
            assertEquals("hello\n", r.getStdout().toString(StandardCharsets.UTF_8));
            assertEquals("oops\n", r.getStderr().toString(StandardCharsets.UTF_8));

            assertEquals(List.of(id), ids(ContainerFilter.newBuilder().putLabelSelector("role", "sleeper")
                    .setPodSandboxId(pod).build()));
            assertEquals(List.of(), ids(ContainerFilter.newBuilder().putLabelSelector("role", "other").build()));
            assertEquals(List.of(id), ids(ContainerFilter.newBuilder().setId(id).build()));
            assertTrue(ids(ContainerFilter.newBuilder().setState(ContainerStateValue.newBuilder()
                    .setState(ContainerState.CONTAINER_RUNNING)).build()).contains(id));
            assertFalse(ids(ContainerFilter.newBuilder().setState(ContainerStateValue.newBuilder()
                    .setState(ContainerState.CONTAINER_EXITED)).build()).contains(id));

            cri().runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(1).build());
            ContainerStatus s = status(id);
            assertEquals(ContainerState.CONTAINER_EXITED, s.getState());
            assertEquals(137, s.getExitCode(), "sleep as PID 1 ignores SIGTERM: SIGKILL after the timeout");
            remove(id);
            assertFalse(ids(ContainerFilter.getDefaultInstance()).contains(id));
        } finally {
            removePod(pod);
        }
    }

    static Status.Code code(Runnable r) {
        return assertThrows(StatusRuntimeException.class, r::run).getStatus().getCode();
    }

    void stopContainer(String id, long timeout) {
        meetingAnExit(() -> cri().runtime().stopContainer(
                StopContainerRequest.newBuilder().setContainerId(id).setTimeout(timeout).build()));
    }

    /** Runs a stop or remove that may meet a process ending on its own; berth answers it the first time. */
    void meetingAnExit(Runnable call) {
        call.run();
    }

    @Test
    void stopAndRemoveOfUnknownIdsSucceed() throws Exception {
        String hex = (UUID.randomUUID().toString() + UUID.randomUUID()).replace("-", "");
        for (String id : List.of(hex, "Not-A-Hex-ID", "../../etc")) {
            if (stopsUnknownIdsQuietly()) {
                stopContainer(id, 0);
                stopContainer(id, 10);
                cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
            }
            remove(id);
            cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
            // status is no stop: an unknown id is NOT_FOUND there
            assertEquals(Status.Code.NOT_FOUND, code(() -> status(id)), id);
            assertEquals(Status.Code.NOT_FOUND, code(() -> cri().runtime().podSandboxStatus(
                    PodSandboxStatusRequest.newBuilder().setPodSandboxId(id).build())), id);
        }
        // kubelet stops what it already removed: a removed container and pod are unknown, so fine
        String pod = runPod("gone");
        String id = create(pod, container("gone", "true").build());
        remove(id);
        if (stopsUnknownIdsQuietly()) {
            stopContainer(id, 0);
        }
        removePod(pod);
        if (stopsUnknownIdsQuietly()) {
            cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        }
        cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    }

    /** CapEff and CapBnd of this (root) test process: what the runtime itself holds too. */
    static long ownCapabilities() throws IOException {
        long eff = 0;
        long bnd = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                eff = Long.parseUnsignedLong(line.substring(7).strip(), 16);
            } else if (line.startsWith("CapBnd:")) {
                bnd = Long.parseUnsignedLong(line.substring(7).strip(), 16);
            }
        }
        return eff & bnd;
    }

    /** Runs {@code grep Cap(Eff|Bnd) /proc/self/status} in a container; returns {CapEff, CapBnd}. */
    long[] containerCapabilities(String pod, ContainerConfig.Builder c) throws Exception {
        String id = create(pod, c.clearCommand().addAllCommand(List.of("sh", "-c",
                "grep -E '^Cap(Eff|Bnd):' /proc/self/status")).build());
        start(id);
        ContainerStatus s = awaitExit(id);
        assertEquals(0, s.getExitCode(), String.join("\n", log(Path.of(s.getLogPath()), "stderr")));
        long[] out = new long[2];
        for (String line : log(Path.of(s.getLogPath()), "stdout")) {
            String[] f = line.split(":\\s*");
            out[f[0].equals("CapEff") ? 0 : 1] = Long.parseUnsignedLong(f[1].strip(), 16);
        }
        remove(id);
        return out;
    }

    @Test
    void privilegedAndAllCapabilitiesGetWhatTheRuntimeHolds() throws Exception {
        long held = ownCapabilities();
        String pod = runPod("caps", true);
        try {
            long[] privileged = containerCapabilities(pod, container("privileged", "true").setLinux(
                    LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                            .setNamespaceOptions(NAMESPACES).setPrivileged(true))));
            assertEquals(Long.toHexString(held), Long.toHexString(privileged[0]), "privileged CapEff");
            assertEquals(Long.toHexString(held), Long.toHexString(privileged[1]), "privileged CapBnd");
            long[] all = containerCapabilities(pod, container("all", "true").setLinux(
                    LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                            .setNamespaceOptions(NAMESPACES).setCapabilities(
                                    Capability.newBuilder().addAddCapabilities("ALL")))));
            assertEquals(Long.toHexString(held), Long.toHexString(all[0]), "ALL capabilities: CapEff");
            long[] allButKill = containerCapabilities(pod, container("all-but-kill", "true").setLinux(
                    LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                            .setNamespaceOptions(NAMESPACES).setCapabilities(Capability.newBuilder()
                                    .addAddCapabilities("ALL").addDropCapabilities("KILL")))));
            assertEquals(Long.toHexString(held & ~(1L << 5)), Long.toHexString(allButKill[0]), "ALL but KILL");
        } finally {
            removePod(pod);
        }
    }

    @Test
    void addingACapabilityTheRuntimeLacksNeverRuns() throws Exception {
        long held = ownCapabilities();
        int lacking = -1;
        for (int bit = 0; bit <= 40 && lacking < 0; bit++) {
            if ((held & (1L << bit)) == 0) {
                lacking = bit;
            }
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(lacking >= 0, "this root holds every capability");
        String name = dev.berth.linux.Capabilities.KNOWN.get(lacking).substring(4);
        String pod = runPod("lacking");
        try {
            ContainerConfig c = container("lacking", "true").setLinux(LinuxContainerConfig.newBuilder()
                    .setSecurityContext(LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(NAMESPACES)
                            .setCapabilities(Capability.newBuilder().addAddCapabilities(name)))).build();
            if (refusesAtCreateWithCode()) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> create(pod, c));
                assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
                assertTrue(e.getStatus().getDescription().contains("CAP_" + name), e.getStatus().getDescription());
            } else {
                List<String> made = new ArrayList<>();
                assertThrows(StatusRuntimeException.class, () -> {
                    made.add(create(pod, c));
                    start(made.get(0));
                });
                made.forEach(this::remove);
            }
        } finally {
            removePod(pod);
        }
    }

    @Test
    void runAsGroupWithoutRunAsUserIsRefused() throws Exception {
        String pod = runPod("group");
        try {
            ContainerConfig c = container("group-only", "id").setLinux(LinuxContainerConfig.newBuilder()
                    .setSecurityContext(LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(NAMESPACES)
                            .setRunAsGroup(Int64Value.newBuilder().setValue(1002)))).build();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> create(pod, c));
            if (refusesAtCreateWithCode()) {
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            }
            // with a user it is fine
            String ok = create(pod, container("group-and-user", "sh", "-c", "echo $(id -u):$(id -g)").setLinux(
                    LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                            .setNamespaceOptions(NAMESPACES).setRunAsUser(Int64Value.newBuilder().setValue(1001))
                            .setRunAsGroup(Int64Value.newBuilder().setValue(1002)))).build());
            start(ok);
            assertEquals(List.of("1001:1002"), log(Path.of(awaitExit(ok).getLogPath()), "stdout"));
            remove(ok);
        } finally {
            removePod(pod);
        }
        Path logs = Files.createDirectories(logRoot().resolve("group-pod-" + UUID.randomUUID()));
        PodSandboxConfig groupOnly = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName("group-pod").setNamespace("conformance")
                        .setUid(UUID.randomUUID().toString()))
                .setLogDirectory(logs.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext
                        .newBuilder().setNamespaceOptions(NAMESPACES)
                        .setRunAsGroup(Int64Value.newBuilder().setValue(1002))))
                .build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> cri().runtime()
                .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(groupOnly).build()));
        if (refusesAtCreateWithCode()) {
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        }
    }

    /** Stops that meet containers ending by themselves: before, during and after their exit. */
    @Test
    void containersEndingWhileTheyAreStoppedStopCleanly() throws Exception {
        String pod = runPod("racing");
        try {
            for (int i = 0; i < 6; i++) {
                String id = create(pod, container("ends-" + i, "sh", "-c", "sleep 0.3").build());
                start(id);
                Thread.sleep(240 + 25 * i);
                stopContainer(id, i % 2 == 0 ? 0 : 5);
                ContainerState state = status(id).getState();
                for (int wait = 0; !stopReturnsAfterExitIsRecorded() && wait < 100
                        && state != ContainerState.CONTAINER_EXITED; wait++) {
                    Thread.sleep(20);
                    state = status(id).getState();
                }
                assertEquals(ContainerState.CONTAINER_EXITED, state);
                remove(id);
            }
        } finally {
            removePod(pod);
        }
        for (int i = 0; i < 4; i++) {
            String racing = runPod("racing-pod-" + i);
            String id = create(racing, container("ends", "sh", "-c", "sleep 0.3").build());
            start(id);
            Thread.sleep(240 + 40 * i);
            if (i % 2 == 0) {
                meetingAnExit(() -> cri().runtime().stopPodSandbox(
                        StopPodSandboxRequest.newBuilder().setPodSandboxId(racing).build()));
            }
            meetingAnExit(() -> cri().runtime().removePodSandbox(
                    RemovePodSandboxRequest.newBuilder().setPodSandboxId(racing).build()));
            assertEquals(Status.Code.NOT_FOUND, code(() -> status(id)));
        }
    }

    @Test
    void reopenedLogFileExistsWhenTheCallReturns() throws Exception {
        String pod = runPod("reopen");
        try {
            String id = create(pod, container("ticker", "sh", "-c", "while true; do echo tick; sleep 0.05; done")
                    .build());
            start(id);
            Path log = Path.of(status(id).getLogPath());
            for (int i = 0; i < 100 && (!Files.exists(log) || Files.size(log) == 0); i++) {
                Thread.sleep(20);
            }
            for (int i = 0; i < 8; i++) {
                Files.move(log, log.resolveSibling("rotated-" + i + ".log"));
                cri().runtime().reopenContainerLog(ReopenContainerLogRequest.newBuilder().setContainerId(id).build());
                assertTrue(Files.exists(log), "rotation " + i + ": the new log file exists when the call returns");
            }
            for (int i = 0; i < 100 && Files.size(log) == 0; i++) {
                Thread.sleep(20);
            }
            assertTrue(log(log, "stdout").contains("tick"), "the container writes to the new file");
            remove(id);
        } finally {
            removePod(pod);
        }
    }

    List<String> ids(ContainerFilter f) {
        return cri().runtime().listContainers(ListContainersRequest.newBuilder().setFilter(f).build())
                .getContainersList().stream().map(c -> c.getId()).toList();
    }
}
