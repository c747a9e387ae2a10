package dev.berth.conformance.soak;

import dev.berth.conformance.harness.BerthDaemon;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * One pod cycle as kubelet drives a short-lived pod: RunPodSandbox (own network and IPC, PID per
 * container), CreateContainer (busybox {@code sleep 3600}), StartContainer, ExecSync
 * ({@code echo ok}), StopPodSandbox, RemovePodSandbox. It remembers which steps berth acknowledged
 * and which was in flight, so after a daemon crash what berth reports can be judged against what it
 * said.
 */
public final class PodCycle {
    public static final List<String> STEPS = List.of("RunPodSandbox", "CreateContainer", "StartContainer",
            "ExecSync", "StopPodSandbox", "RemovePodSandbox");
    public static final String NAMESPACE = "soak";

    final int n;
    String podId;
    String containerId;
    /** Steps berth answered OK, in order. */
    final List<String> acked = new ArrayList<>();
    /** The step whose call was under way when the cycle ended early; null when none. */
    String inFlight;
    /** Set once judged after a restart. */
    boolean judged;

    PodCycle(int n) {
        this.n = n;
    }

    static PodSandboxConfig podConfig(BerthDaemon d, int n, String handlerTag) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(handlerTag + "-" + n).setNamespace(NAMESPACE)
                        .setUid("soak-uid-" + handlerTag + "-" + n))
                .setLogDirectory(d.base().resolve("logs").resolve(handlerTag + "-" + n).toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder()
                        .setCgroupParent("/" + Census.cgroupTop(d) + "/" + handlerTag + "-" + n)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
                                NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
                                        .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD))))
                .build();
    }

    static ContainerConfig containerConfig(String image) {
        return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("sleeper"))
                .setImage(ImageSpec.newBuilder().setImage(image)).addCommand("sleep").addCommand("3600")
                .setLogPath("sleeper.log").build();
    }

    /** Runs the whole cycle; a failed call leaves {@link #inFlight} set and is thrown. */
    void run(BerthDaemon d, String image, Timings t) {
        PodSandboxConfig pc = podConfig(d, n, "cycle");
        try {
            java.nio.file.Files.createDirectories(Path.of(pc.getLogDirectory()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        step("RunPodSandbox", t, () -> podId = rt(d).runPodSandbox(
                RunPodSandboxRequest.newBuilder().setConfig(pc).build()).getPodSandboxId());
        step("CreateContainer", t, () -> containerId = rt(d).createContainer(CreateContainerRequest.newBuilder()
                .setPodSandboxId(podId).setSandboxConfig(pc).setConfig(containerConfig(image)).build())
                .getContainerId());
        step("StartContainer", t, () -> rt(d).startContainer(
                StartContainerRequest.newBuilder().setContainerId(containerId).build()));
        step("ExecSync", t, () -> {
            ExecSyncResponse r = rt(d).execSync(ExecSyncRequest.newBuilder().setContainerId(containerId)
                    .addCmd("echo").addCmd("ok").setTimeout(30).build());
            String out = r.getStdout().toString(StandardCharsets.UTF_8);
            if (r.getExitCode() != 0 || !out.equals("ok\n")) {
                throw new IllegalStateException("ExecSync answered exit " + r.getExitCode() + " stdout " + out);
            }
        });
        step("StopPodSandbox", t, () -> rt(d).stopPodSandbox(
                StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build()));
        step("RemovePodSandbox", t, () -> rt(d).removePodSandbox(
                RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build()));
    }

    private void step(String name, Timings t, Runnable call) {
        inFlight = name;
        long t0 = System.nanoTime();
        call.run();
        t.add(name, t0);
        acked.add(name);
        inFlight = null;
    }

    static RuntimeServiceBlockingStub rt(BerthDaemon d) {
        return d.client().runtime();
    }

    boolean acked(String step) {
        return acked.contains(step);
    }

    boolean touched(String step) {
        return acked.contains(step) || step.equals(inFlight);
    }

    /**
     * After a daemon restart: whether berth reports this cycle's pod and container as they were
     * acknowledged (a step in flight at the kill may have happened or not). Returns violations.
     */
    List<String> judge(BerthDaemon d) {
        List<String> v = new ArrayList<>();
        String who = "cycle " + n + " (acked " + acked + ", in flight " + inFlight + ")";
        if (podId == null) {
            return v; // RunPodSandbox unanswered: the orphan sweep judges whatever it made
        }
        PodSandboxState podState = null;
        try {
            podState = rt(d).podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
                    .getStatus().getState();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                v.add(who + ": PodSandboxStatus failed: " + e.getStatus());
                return v;
            }
        }
        if (acked("RemovePodSandbox")) {
            if (podState != null) {
                v.add(who + ": removed pod still reported " + podState);
            }
            return v;
        }
        if (podState == null) {
            if (!touched("RemovePodSandbox")) {
                v.add(who + ": acknowledged pod lost");
            }
            return v;
        }
        if (acked("StopPodSandbox") && podState != PodSandboxState.SANDBOX_NOTREADY) {
            v.add(who + ": stopped pod reported " + podState);
        }
        if (!touched("StopPodSandbox") && podState != PodSandboxState.SANDBOX_READY) {
            v.add(who + ": running pod reported " + podState);
        }
        if (containerId == null) {
            return v;
        }
        ContainerState cs = null;
        try {
            cs = rt(d).containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId).build())
                    .getStatus().getState();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                v.add(who + ": ContainerStatus failed: " + e.getStatus());
                return v;
            }
        }
        if (cs == null) {
            if (!touched("RemovePodSandbox")) {
                v.add(who + ": acknowledged container lost");
            }
            return v;
        }
        if (acked("StopPodSandbox") && cs != ContainerState.CONTAINER_EXITED) {
            v.add(who + ": container of a stopped pod reported " + cs);
        } else if (!touched("StopPodSandbox") && acked("StartContainer") && cs != ContainerState.CONTAINER_RUNNING) {
            v.add(who + ": started container reported " + cs);
        } else if (!touched("StartContainer") && cs != ContainerState.CONTAINER_CREATED) {
            v.add(who + ": created container reported " + cs);
        }
        return v;
    }

    /** Stops and removes whatever of this cycle exists; every call must succeed. Returns violations. */
    List<String> cleanUp(BerthDaemon d) {
        List<String> v = new ArrayList<>();
        if (podId == null || acked("RemovePodSandbox")) {
            return v;
        }
        try {
            try {
                rt(d).stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.NOT_FOUND || !touched("RemovePodSandbox")) {
                    throw e;
                }
            }
            rt(d).removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        } catch (StatusRuntimeException e) {
            v.add("cycle " + n + ": pod " + podId + " not removable: " + e.getStatus());
        }
        return v;
    }

    static Path logDir(BerthDaemon d) {
        return d.base().resolve("logs");
    }
}
