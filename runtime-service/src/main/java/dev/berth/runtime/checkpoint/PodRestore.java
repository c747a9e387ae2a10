package dev.berth.runtime.checkpoint;

import dev.berth.core.error.BerthException;
import dev.berth.image.ImageLookup;
import dev.berth.image.LocalImage;
import dev.berth.runtime.sandbox.SandboxView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import runtime.v1.ContainerConfig;
import runtime.v1.ImageSpec;
import runtime.v1.RestorePodRequest;
import runtime.v1.RestorePodResponse;
import runtime.v1.RestoredContainer;

/**
 * RestorePod from a {@link PodCheckpoint} directory: a new pod sandbox from the caller's config,
 * then each container created from its archive (as CreateContainer does for an archive path), left
 * CREATED; the caller's StartContainer restores the processes. Nothing is created before the
 * request and the checkpoint are checked, and a failure removes the new pod with all it holds.
 */
public final class PodRestore {
    private PodRestore() {}

    /** The pod side RestorePod needs (SandboxManager's). */
    public interface Pods {
        String run(runtime.v1.PodSandboxConfig config, String runtimeHandler);

        Optional<SandboxView> find(String podId);

        void remove(String podId);
    }

    /** The container side RestorePod needs (ContainerService's create). */
    public interface Containers {
        String create(String podId, ContainerConfig config);
    }

    public static RestorePodResponse restore(RestorePodRequest req, Pods pods, Containers containers,
            ImageLookup images, CriuSupport criu) {
        if (!req.hasConfig()) {
            throw BerthException.invalid("RestorePod: config is required");
        }
        PodCheckpoint.noOptions("RestorePod", req.getOptionsMap());
        PodCheckpoint.PodDump dump = PodCheckpoint.read(req.getCheckpointPath());
        Map<String, PodCheckpoint.Container> checkpointed = new HashMap<>();
        dump.containers().forEach(c -> checkpointed.put(c.name(), c));
        if (req.getContainerConfigsCount() == 0) {
            throw BerthException.invalid("RestorePod: container_configs is empty; the checkpoint holds %s",
                    new TreeSet<>(checkpointed.keySet()));
        }
        Map<String, ContainerConfig> configs = new HashMap<>();
        for (ContainerConfig c : req.getContainerConfigsList()) {
            String name = c.getMetadata().getName();
            if (name.isEmpty()) {
                throw BerthException.invalid("RestorePod: a container config has no metadata.name");
            }
            if (configs.put(name, c) != null) {
                throw BerthException.invalid("RestorePod: container %s is configured twice", name);
            }
        }
        if (!configs.keySet().equals(checkpointed.keySet())) {
            throw BerthException.invalid("RestorePod: container_configs name %s, the checkpoint %s: they must be "
                    + "the same set", new TreeSet<>(configs.keySet()), new TreeSet<>(checkpointed.keySet()));
        }
        for (ContainerConfig c : req.getContainerConfigsList()) {
            checkImage(c, checkpointed.get(c.getMetadata().getName()), images);
        }
        criu.require("restoring pod " + dump.name() + " from " + req.getCheckpointPath());

        String podId = pods.run(req.getConfig(), req.getRuntimeHandler());
        try {
            String handler = pods.find(podId).map(SandboxView::runtimeHandler).orElse("");
            if (dump.runtimeHandler() != null && !dump.runtimeHandler().isEmpty()
                    && !dump.runtimeHandler().equals(handler)) {
                throw BerthException.precondition("RestorePod: the checkpoint was taken with runtime handler %s; "
                        + "restoring it with %s is not supported", dump.runtimeHandler(), handler);
            }
            List<RestoredContainer> restored = new ArrayList<>();
            for (ContainerConfig c : req.getContainerConfigsList()) {
                PodCheckpoint.Container from = checkpointed.get(c.getMetadata().getName());
                ContainerConfig fromArchive = c.toBuilder().setImage(ImageSpec.newBuilder(c.getImage())
                        .setImage(PodCheckpoint.archive(req.getCheckpointPath(), from).toString())).build();
                restored.add(RestoredContainer.newBuilder().setName(c.getMetadata().getName())
                        .setContainerId(containers.create(podId, fromArchive)).build());
            }
            return RestorePodResponse.newBuilder().setPodSandboxId(podId).addAllRestoredContainers(restored).build();
        } catch (RuntimeException e) {
            try {
                pods.remove(podId);
            } catch (RuntimeException re) {
                e.addSuppressed(re);
            }
            throw e;
        }
    }

    /**
     * The config's image, when given, must be the image the container ran (by name, id, or a
     * reference the store resolves to the same image).
     */
    private static void checkImage(ContainerConfig c, PodCheckpoint.Container from, ImageLookup images) {
        String wanted = c.getImage().getImage();
        if (wanted.isEmpty() || wanted.equals(from.image()) || wanted.equals(from.imageRef())) {
            return;
        }
        String id = images.find(wanted).map(LocalImage::id).orElse(null);
        if (id == null || !id.equals(from.imageRef())) {
            throw BerthException.invalid("RestorePod: container %s is configured with image %s, but it was "
                    + "checkpointed running %s (%s)", c.getMetadata().getName(), wanted, from.image(), from.imageRef());
        }
    }
}
