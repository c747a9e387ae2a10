package dev.berth.server.rpc.sandbox;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandbox;
import runtime.v1.StreamPodSandboxesRequest;

/** StreamPodSandboxes: ListPodSandbox's items with the same filter, sent in chunks (RpcStream). */
@ApplicationScoped
public class StreamPodSandboxesHandler {
    @Inject
    ListPodSandboxHandler list;

    public List<PodSandbox> items(StreamPodSandboxesRequest req) {
        ListPodSandboxRequest.Builder l = ListPodSandboxRequest.newBuilder();
        if (req.hasFilter()) {
            l.setFilter(req.getFilter());
        }
        return list.handle(l.build()).getItemsList();
    }
}
