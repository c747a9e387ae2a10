package dev.berth.conformance.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.BerthDaemon;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandbox;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StopPodSandboxRequest;

/** kill -9 of the daemon with pods running, and in the middle of RunPodSandbox: nothing is lost or leaked. */
class PodRestartTest {
    BerthDaemon daemon;
    String cgroupTop;
    String subnetMarker;
    List<String> before;

    @BeforeEach
    void start() throws IOException {
        assumeTrue(PodCensus.privileged(), "needs root, iproute2, iptables, nsenter and busybox-static");
        daemon = BerthDaemon.start();
        cgroupTop = "berth-restart-" + daemon.httpPort();
        String subnet = daemon.env().get("BERTH_CNI_DEFAULT_SUBNET");
        subnetMarker = subnet.substring(0, subnet.lastIndexOf('.'));
        before = PodCensus.take(daemon, cgroupTop, subnetMarker);
    }

    @AfterEach
    void stop() {
        if (daemon != null) {
            // a test that failed half way still leaves no pod (cgroups, infra) behind
            try {
                if (daemon.process() != null && daemon.process().isAlive()) {
                    stopAndRemovePods();
                }
            } catch (RuntimeException e) {
                System.err.println("PodRestartTest: pods not removed after the test: " + e);
            }
            daemon.close();
        }
    }

    PodSandboxConfig pod(String name, boolean sharedPid) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("restart").setUid("u-" + name))
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/" + cgroupTop + "-" + name)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
                                NamespaceOption.newBuilder().setPid(sharedPid ? NamespaceMode.POD
                                        : NamespaceMode.CONTAINER))))
                .build();
    }

    String run(PodSandboxConfig c) {
        return daemon.client().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(c).build())
                .getPodSandboxId();
    }

    void removeAll() {
        stopAndRemovePods();
        assertEquals(List.of(), daemon.client().runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
                .getItemsList());
    }

    private void stopAndRemovePods() {
        var rt = daemon.client().runtime();
        for (PodSandbox p : rt.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
            rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
            rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
        }
    }

    @Test
    void podsSurviveKill9AndAreRemovableAfterRestart() throws Exception {
        String a = run(pod("survivor", true));
        String b = run(pod("other", false));
        String ipA = daemon.client().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(a).build()).getStatus().getNetwork().getIp();
        daemon.kill9();
        daemon.restart();
        var st = daemon.client().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(a).build()).getStatus();
        assertEquals(PodSandboxState.SANDBOX_READY, st.getState());
        assertEquals(ipA, st.getNetwork().getIp());
        assertEquals(2, daemon.client().runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
                .getItemsCount());
        assertTrue(List.of(a, b).containsAll(daemon.client().runtime()
                .listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList().stream()
                .map(PodSandbox::getId).toList()));
        removeAll();
        assertEquals(before, PodCensus.takeSettled(before, daemon, cgroupTop, subnetMarker));
    }

    @Test
    void kill9InTheMiddleOfRunPodSandboxLeaksNothing() throws Exception {
        // kill at several points of the set-up; whatever was half made must be undone after restart
        for (int delayMs : new int[] {5, 20}) {
            CompletableFuture<Void> call = CompletableFuture.runAsync(() -> {
                try {
                    run(pod("crash-" + delayMs, true));
                } catch (RuntimeException expected) {
                    // the daemon died under the call
                }
            });
            Thread.sleep(delayMs);
            daemon.kill9();
            call.join();
            daemon.restart();
            for (PodSandbox p : daemon.client().runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
                    .getItemsList()) {
                assertTrue(p.getState() == PodSandboxState.SANDBOX_READY
                        || p.getState() == PodSandboxState.SANDBOX_NOTREADY);
            }
            removeAll();
            assertEquals(before, PodCensus.takeSettled(before, daemon, cgroupTop, subnetMarker), "after a kill at " + delayMs + " ms");
        }
    }

    /**
     * What a crash can leave in the IPAM store that no pod will ever release (an empty lease from a
     * write cut short, a lease whose pod berth no longer knows, a temporary file) is released when
     * the daemon starts; a running pod keeps its own lease and address.
     */
    @Test
    void leasesNoPodHoldsAreReleasedAtRestart() throws Exception {
        String a = run(pod("holder", true));
        String ip = daemon.client().runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(a).build()).getStatus().getNetwork().getIp();
        java.nio.file.Path leases;
        try (var dirs = java.nio.file.Files.list(daemon.root().resolve("cni").resolve("networks"))) {
            leases = dirs.filter(d -> java.nio.file.Files.exists(d.resolve(ip))).findFirst().orElseThrow(
                    () -> new AssertionError("no lease file for the pod's address " + ip));
        }
        daemon.kill9();
        String prefix = ip.substring(0, ip.lastIndexOf('.') + 1);
        java.nio.file.Files.writeString(leases.resolve(prefix + "250"), "");
        java.nio.file.Files.writeString(leases.resolve(prefix + "251"), "0".repeat(64) + "\neth0");
        java.nio.file.Files.writeString(leases.resolve("." + prefix + "252.tmp"), "c\neth0");
        daemon.restart();

        for (String gone : List.of(prefix + "250", prefix + "251", "." + prefix + "252.tmp")) {
            assertTrue(!java.nio.file.Files.exists(leases.resolve(gone)), () -> gone + " was released at start; the "
                    + "daemon said:\n" + daemon.logText().lines().filter(l -> l.contains("network state"))
                            .collect(java.util.stream.Collectors.joining("\n")));
        }
        assertTrue(java.nio.file.Files.readString(leases.resolve(ip)).startsWith(a + "\n"), "the pod keeps its lease");
        assertEquals(PodSandboxState.SANDBOX_READY, daemon.client().runtime().podSandboxStatus(
                PodSandboxStatusRequest.newBuilder().setPodSandboxId(a).build()).getStatus().getState());
        assertTrue(daemon.logText().contains("released network state no pod holds"), "the release is logged");
        removeAll();
        assertEquals(before, PodCensus.takeSettled(before, daemon, cgroupTop, subnetMarker));
    }

    /** The daemon halts at a chosen step of RunPodSandbox (BERTH_FAILPOINT), then restarts without it. */
    @Test
    void crashAtEachStepOfRunPodSandboxIsUndoneAfterRestart() throws Exception {
        for (String point : List.of("sandbox-after-namespaces", "sandbox-after-network", "sandbox-before-ready")) {
            daemon.env().put("BERTH_FAILPOINT", point);
            daemon.restart();
            io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(
                    io.grpc.StatusRuntimeException.class, () -> run(pod("fp-" + point, true)));
            assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode(), point);
            daemon.kill9(); // reap the halted process
            daemon.env().remove("BERTH_FAILPOINT");
            daemon.restart();
            List<PodSandbox> left = daemon.client().runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
                    .getItemsList();
            assertEquals(1, left.size(), point + ": the half-made pod must be known after restart");
            assertEquals(PodSandboxState.SANDBOX_NOTREADY, left.get(0).getState(), point);
            removeAll();
            assertEquals(before, PodCensus.takeSettled(before, daemon, cgroupTop, subnetMarker), "after a crash at " + point);
        }
    }
}
