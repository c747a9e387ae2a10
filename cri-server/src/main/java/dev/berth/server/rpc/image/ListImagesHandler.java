package dev.berth.server.rpc.image;

import dev.berth.image.ImageManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ListImagesRequest;
import runtime.v1.ListImagesResponse;

/** ListImages: every image, or only the one the filter's image reference resolves to. */
@ApplicationScoped
public class ListImagesHandler {
    @Inject
    ImageManager images;

    public ListImagesResponse handle(ListImagesRequest req) {
        String filter = req.hasFilter() && req.getFilter().hasImage() ? req.getFilter().getImage().getImage() : "";
        ListImagesResponse.Builder b = ListImagesResponse.newBuilder();
        images.list(filter).forEach(v -> b.addImages(ImageProtos.toProto(v)));
        return b.build();
    }
}
