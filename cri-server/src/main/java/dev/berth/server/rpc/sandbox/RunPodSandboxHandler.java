package dev.berth.server.rpc.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxManager;
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
        return RunPodSandboxResponse.newBuilder()
                .setPodSandboxId(sandboxes.run(req.getConfig(), req.getRuntimeHandler()))
                .build();
    }
}
