package dev.berth.server.rpc.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.checkpoint.ContainerCheckpoint;
import dev.berth.runtime.checkpoint.CriuSupport;
import dev.berth.runtime.checkpoint.PodCheckpoint;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.runtime.sandbox.SandboxView;
import io.grpc.Context;
import io.grpc.Deadline;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import runtime.v1.CheckpointPodRequest;
import runtime.v1.CheckpointPodResponse;

/**
 * CheckpointPod: the selected running containers of a ready pod, frozen together and dumped into
 * the caller's empty directory ({@link PodCheckpoint}'s layout); FAILED_PRECONDITION naming CRIU's
 * reason where CRIU cannot work. The call's deadline bounds the dumps (10 min without one).
 */
@ApplicationScoped
public class CheckpointPodHandler {
    private static final long DEFAULT_TIMEOUT_NANOS = TimeUnit.MINUTES.toNanos(10);

    @Inject
    SandboxManager sandboxes;

    @Inject
    ContainerService containers;

    public CheckpointPodResponse handle(CheckpointPodRequest req) {
        long deadline = System.nanoTime() + remaining(Context.current().getDeadline());
        if (req.getPodSandboxId().isEmpty()) {
            throw BerthException.invalid("CheckpointPod: pod_sandbox_id is required");
        }
        SandboxView pod = sandboxes.find(req.getPodSandboxId()).orElseThrow(() -> BerthException.notFound(
                "pod sandbox %s does not exist", req.getPodSandboxId()));
        if (!pod.ready()) {
            throw BerthException.precondition("CheckpointPod: pod sandbox %s is not ready; only a running pod can be "
                    + "checkpointed", pod.id());
        }
        PodCheckpoint.noOptions("CheckpointPod", req.getOptionsMap());
        List<String> ids = PodCheckpoint.containerIds(req.getContainerIdsList());
        Path dir = PodCheckpoint.outputDir(req.getOutputPath());
        List<ContainerCheckpoint.Source> sources = ids.stream().map(containers::checkpointSource).toList();
        var meta = pod.config().getMetadata();
        PodCheckpoint.write(new PodCheckpoint.Pod(pod.id(), meta.getName(), meta.getNamespace(), meta.getUid(),
                meta.getAttempt(), pod.runtimeHandler()), sources, dir, deadline, CriuSupport.host());
        return CheckpointPodResponse.getDefaultInstance();
    }

    private static long remaining(Deadline d) {
        return d == null ? DEFAULT_TIMEOUT_NANOS : Math.max(0, d.timeRemaining(TimeUnit.NANOSECONDS));
    }
}
