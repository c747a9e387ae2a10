package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerRecord;
import dev.berth.runtime.container.ContainerStates;
import runtime.v1.Container;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerResources;
import runtime.v1.ContainerStatus;
import runtime.v1.ContainerUser;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerUser;

/** berth's container records as CRI messages. */
public final class ContainerViews {
    private ContainerViews() {}

    static Container container(ContainerRecord r) {
        return Container.newBuilder()
                .setId(r.id())
                .setPodSandboxId(r.podId())
                .setMetadata(metadata(r))
                .setImage(image(r))
                .setImageRef(r.imageRef())
                .setImageId(r.imageId())
                .setState(ContainerStates.toCri(r.phase()))
                .setCreatedAt(r.createdAt())
                .putAllLabels(r.labels())
                .putAllAnnotations(r.annotations())
                .build();
    }

    public static ContainerStatus status(ContainerRecord r) {
        ContainerConfig c = r.configProto();
        return ContainerStatus.newBuilder()
                .setId(r.id())
                .setMetadata(metadata(r))
                .setState(ContainerStates.toCri(r.phase()))
                .setCreatedAt(r.createdAt())
                .setStartedAt(r.startedAt())
                .setFinishedAt(r.finishedAt())
                .setExitCode(r.exitCode())
                .setImage(image(r))
                .setImageRef(r.imageRef())
                .setImageId(r.imageId())
                .setReason(r.reason())
                .setMessage(r.message())
                .putAllLabels(r.labels())
                .putAllAnnotations(r.annotations())
                .addAllMounts(c.getMountsList())
                .setLogPath(r.logPath())
                .setResources(ContainerResources.newBuilder().setLinux(r.resourcesProto()))
                .setUser(ContainerUser.newBuilder().setLinux(LinuxContainerUser.newBuilder()
                        .setUid(r.uid()).setGid(r.gid()).addAllSupplementalGroups(r.additionalGids())))
                .setStopSignal(c.getStopSignal())
                .build();
    }

    private static ContainerMetadata metadata(ContainerRecord r) {
        return ContainerMetadata.newBuilder().setName(r.name()).setAttempt(r.attempt()).build();
    }

    private static ImageSpec image(ContainerRecord r) {
        return ImageSpec.newBuilder().setImage(r.image()).build();
    }
}
