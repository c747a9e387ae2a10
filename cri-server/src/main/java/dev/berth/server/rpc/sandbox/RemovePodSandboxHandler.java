package dev.berth.server.rpc.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RemovePodSandboxResponse;

/** RemovePodSandbox: idempotent; an unknown id is success, as the CRI contract asks. */
@ApplicationScoped
public class RemovePodSandboxHandler {
    @Inject
    SandboxManager sandboxes;

    public RemovePodSandboxResponse handle(RemovePodSandboxRequest req) {
        if (req.getPodSandboxId().isEmpty()) {
            throw BerthException.invalid("RemovePodSandbox: pod_sandbox_id is required");
        }
        sandboxes.remove(req.getPodSandboxId());
        return RemovePodSandboxResponse.getDefaultInstance();
    }
}
