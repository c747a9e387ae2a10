package dev.berth.server.rpc.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.runtime.sandbox.SandboxView;
import dev.berth.server.streaming.StreamTarget;
import dev.berth.server.streaming.StreamingService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.PortForwardRequest;
import runtime.v1.PortForwardResponse;

/**
 * PortForward: validates the pod (exists, ready) and the ports, then returns the streaming URL.
 * SPDY clients name a port per stream; WebSocket clients get exactly the ports asked for here.
 */
@ApplicationScoped
public class PortForwardHandler {
    @Inject
    SandboxManager sandboxes;

    @Inject
    StreamingService streaming;

    public PortForwardResponse handle(PortForwardRequest req) {
        String id = req.getPodSandboxId();
        if (id.isEmpty()) {
            throw BerthException.invalid("PortForward: pod_sandbox_id is required");
        }
        for (int port : req.getPortList()) {
            if (port < 1 || port > 65535) {
                throw BerthException.invalid("PortForward: port %d is not a TCP port (1-65535)", port);
            }
        }
        SandboxView pod = sandboxes.find(id)
                .orElseThrow(() -> BerthException.notFound("pod sandbox %s does not exist", id));
        if (!pod.ready()) {
            throw BerthException.precondition("pod sandbox %s is not ready", id);
        }
        String url = streaming.url(new StreamTarget.PortForward(id, req.getPortList()));
        return PortForwardResponse.newBuilder().setUrl(url).build();
    }
}
