package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.server.streaming.StreamTarget;
import dev.berth.server.streaming.StreamingService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.AttachRequest;
import runtime.v1.AttachResponse;

/** Attach: validates, then returns the streaming URL that connects to the container's stdio. */
@ApplicationScoped
public class AttachHandler {
    @Inject
    ContainerService containers;

    @Inject
    SandboxManager sandboxes;

    @Inject
    StreamingService streaming;

    public AttachResponse handle(AttachRequest req) {
        String id = Ids.required(req.getContainerId());
        StreamChecks.options("Attach", req.getTty(), req.getStdin(), req.getStdout(), req.getStderr());
        StreamChecks.running(containers, sandboxes, id);
        String url = streaming.url(new StreamTarget.Attach(id, req.getTty(), req.getStdin(), req.getStdout(),
                req.getStderr()));
        return AttachResponse.newBuilder().setUrl(url).build();
    }
}
