package dev.berth.server.rpc.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.server.rpc.RequestBounds;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RunPodSandboxResponse;

/** RunPodSandbox: namespaces, files, cgroup and network of a new pod; answers its id. */
@ApplicationScoped
public class RunPodSandboxHandler {
    @Inject
    SandboxManager sandboxes;

    public RunPodSandboxResponse handle(RunPodSandboxRequest req) {
        if (!req.hasConfig()) {
            throw BerthException.invalid("RunPodSandbox: config is required");
        }
        var c = req.getConfig();
        RequestBounds.name("RunPodSandbox", "metadata.name", c.getMetadata().getName());
        RequestBounds.name("RunPodSandbox", "metadata.namespace", c.getMetadata().getNamespace());
        RequestBounds.name("RunPodSandbox", "metadata.uid", c.getMetadata().getUid());
        RequestBounds.name("RunPodSandbox", "runtime_handler", req.getRuntimeHandler());
        RequestBounds.map("RunPodSandbox", "labels", c.getLabelsMap());
        RequestBounds.map("RunPodSandbox", "annotations", c.getAnnotationsMap());
        return RunPodSandboxResponse.newBuilder()
                .setPodSandboxId(sandboxes.run(req.getConfig(), req.getRuntimeHandler()))
                .build();
    }
}
