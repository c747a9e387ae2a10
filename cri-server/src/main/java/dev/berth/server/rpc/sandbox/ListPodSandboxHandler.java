package dev.berth.server.rpc.sandbox;

import dev.berth.runtime.sandbox.SandboxManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.ListPodSandboxResponse;

/** ListPodSandbox with the id (prefix), state and label-selector filters. */
@ApplicationScoped
public class ListPodSandboxHandler {
    @Inject
    SandboxManager sandboxes;

    public ListPodSandboxResponse handle(ListPodSandboxRequest req) {
        return ListPodSandboxResponse.newBuilder()
                .addAllItems(sandboxes.list(req.hasFilter() ? req.getFilter() : null))
                .build();
    }
}
