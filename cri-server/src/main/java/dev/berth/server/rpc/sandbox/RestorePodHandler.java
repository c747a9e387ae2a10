package dev.berth.server.rpc.sandbox;

import dev.berth.image.ImageManager;
import dev.berth.runtime.checkpoint.CriuSupport;
import dev.berth.runtime.checkpoint.PodRestore;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.runtime.sandbox.SandboxView;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import runtime.v1.ContainerConfig;
import runtime.v1.PodSandboxConfig;
import runtime.v1.RestorePodRequest;
import runtime.v1.RestorePodResponse;

/**
 * RestorePod: a new pod sandbox and its containers, CREATED from a CheckpointPod directory
 * ({@link PodRestore}); FAILED_PRECONDITION naming CRIU's reason, before anything is created, where
 * CRIU cannot work.
 */
@ApplicationScoped
public class RestorePodHandler {
    @Inject
    SandboxManager sandboxes;

    @Inject
    ContainerService containers;

    @Inject
    ImageManager images;

    public RestorePodResponse handle(RestorePodRequest req) {
        PodRestore.Pods pods = new PodRestore.Pods() {
            @Override
            public String run(PodSandboxConfig config, String runtimeHandler) {
                return sandboxes.run(config, runtimeHandler);
            }

            @Override
            public Optional<SandboxView> find(String podId) {
                return sandboxes.find(podId);
            }

            @Override
            public void remove(String podId) {
                sandboxes.remove(podId);
            }
        };
        PodRestore.Containers created = (String podId, ContainerConfig config) -> containers.create(podId, config);
        return PodRestore.restore(req, pods, created, images, CriuSupport.host());
    }
}
