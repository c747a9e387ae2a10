package dev.berth.server.rpc.container;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import runtime.v1.Container;
import runtime.v1.ListContainersRequest;
import runtime.v1.StreamContainersRequest;

/** StreamContainers: ListContainers' items with the same filter, sent in chunks (RpcStream). */
@ApplicationScoped
public class StreamContainersHandler {
    @Inject
    ListContainersHandler list;

    public List<Container> items(StreamContainersRequest req) {
        ListContainersRequest.Builder l = ListContainersRequest.newBuilder();
        if (req.hasFilter()) {
            l.setFilter(req.getFilter());
        }
        return list.handle(l.build()).getContainersList();
    }
}
