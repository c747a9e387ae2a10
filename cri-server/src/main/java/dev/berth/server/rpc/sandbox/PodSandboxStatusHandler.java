package dev.berth.server.rpc.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PodSandboxStatusResponse;

/** PodSandboxStatus: state, IPs, namespaces; with verbose the namespace paths and CNI result as JSON. */
@ApplicationScoped
public class PodSandboxStatusHandler {
    @Inject
    SandboxManager sandboxes;

    public PodSandboxStatusResponse handle(PodSandboxStatusRequest req) {
        if (req.getPodSandboxId().isEmpty()) {
            throw BerthException.invalid("PodSandboxStatus: pod_sandbox_id is required");
        }
        return sandboxes.status(req.getPodSandboxId(), req.getVerbose());
    }
}
