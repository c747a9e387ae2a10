package dev.berth.server.rpc.container;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopContainerResponse;

/** StopContainer: the stop signal, the timeout, then SIGKILL. Stopping a stopped or unknown container is fine. */
@ApplicationScoped
public class StopContainerHandler {
    @Inject
    ContainerService containers;

    public StopContainerResponse handle(StopContainerRequest req) {
        if (req.getTimeout() < 0) {
            throw BerthException.invalid("timeout must not be negative (got %d)", req.getTimeout());
        }
        containers.stop(Ids.present(req.getContainerId()), req.getTimeout());
        return StopContainerResponse.getDefaultInstance();
    }
}
