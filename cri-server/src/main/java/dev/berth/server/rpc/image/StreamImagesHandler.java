package dev.berth.server.rpc.image;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import runtime.v1.Image;
import runtime.v1.ListImagesRequest;
import runtime.v1.StreamImagesRequest;

/** StreamImages: ListImages' items with the same filter, sent in chunks (RpcStream). */
@ApplicationScoped
public class StreamImagesHandler {
    @Inject
    ListImagesHandler list;

    public List<Image> items(StreamImagesRequest req) {
        ListImagesRequest.Builder l = ListImagesRequest.newBuilder();
        if (req.hasFilter()) {
            l.setFilter(req.getFilter());
        }
        return list.handle(l.build()).getImagesList();
    }
}
