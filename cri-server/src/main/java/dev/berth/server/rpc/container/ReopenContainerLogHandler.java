package dev.berth.server.rpc.container;

import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ReopenContainerLogRequest;
import runtime.v1.ReopenContainerLogResponse;

/** ReopenContainerLog: after kubelet rotated the log file, the monitor writes to a new one at the path. */
@ApplicationScoped
public class ReopenContainerLogHandler {
    @Inject
    ContainerService containers;

    public ReopenContainerLogResponse handle(ReopenContainerLogRequest req) {
        containers.reopenLog(Ids.required(req.getContainerId()));
        return ReopenContainerLogResponse.getDefaultInstance();
    }
}
