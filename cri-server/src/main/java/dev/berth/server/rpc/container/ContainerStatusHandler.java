package dev.berth.server.rpc.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.runtime.container.ContainerRecord;
import dev.berth.runtime.container.ContainerService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.ContainerStatusResponse;

/** ContainerStatus; with verbose, info["info"] holds the pid, runtime handler and the OCI spec. */
@ApplicationScoped
public class ContainerStatusHandler {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    ContainerService containers;

    public ContainerStatusResponse handle(ContainerStatusRequest req) {
        ContainerRecord r = containers.status(Ids.required(req.getContainerId()));
        ContainerStatusResponse.Builder out = ContainerStatusResponse.newBuilder().setStatus(ContainerViews.status(r));
        if (req.getVerbose()) {
            ObjectNode info = JSON.createObjectNode();
            info.put("pid", r.pid());
            info.put("sandboxID", r.podId());
            info.put("runtimeHandler", r.handler());
            info.put("cgroup", r.cgroup());
            try {
                String spec = containers.specJson(r.id());
                info.set("runtimeSpec", spec.isEmpty() ? JSON.nullNode() : JSON.readTree(spec));
            } catch (IOException e) {
                info.put("runtimeSpec", "unreadable: " + e.getMessage());
            }
            out.putInfo("info", info.toString());
        }
        return out.build();
    }
}
