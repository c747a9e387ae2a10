package dev.berth.server.rpc.container;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.server.streaming.StreamTarget;
import dev.berth.server.streaming.StreamingService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ExecRequest;
import runtime.v1.ExecResponse;

/** Exec: validates, then returns the streaming URL the client runs the command through. */
@ApplicationScoped
public class ExecHandler {
    @Inject
    ContainerService containers;

    @Inject
    SandboxManager sandboxes;

    @Inject
    StreamingService streaming;

    public ExecResponse handle(ExecRequest req) {
        String id = Ids.required(req.getContainerId());
        if (req.getCmdCount() == 0 || req.getCmd(0).isEmpty()) {
            throw BerthException.invalid("Exec: cmd is empty");
        }
        StreamChecks.options("Exec", req.getTty(), req.getStdin(), req.getStdout(), req.getStderr());
        StreamChecks.running(containers, sandboxes, id);
        String url = streaming.url(new StreamTarget.Exec(id, req.getCmdList(), req.getTty(), req.getStdin(),
                req.getStdout(), req.getStderr()));
        return ExecResponse.newBuilder().setUrl(url).build();
    }
}
