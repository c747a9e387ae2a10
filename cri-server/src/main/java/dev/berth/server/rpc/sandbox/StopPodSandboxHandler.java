package dev.berth.server.rpc.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.StopPodSandboxResponse;

/** StopPodSandbox: idempotent; an unknown id is success, as the CRI contract asks. */
@ApplicationScoped
public class StopPodSandboxHandler {
    @Inject
    SandboxManager sandboxes;

    public StopPodSandboxResponse handle(StopPodSandboxRequest req) {
        if (req.getPodSandboxId().isEmpty()) {
            throw BerthException.invalid("StopPodSandbox: pod_sandbox_id is required");
        }
        sandboxes.stop(req.getPodSandboxId());
        return StopPodSandboxResponse.getDefaultInstance();
    }
}
