package dev.berth.server.rpc.image;

import dev.berth.core.error.BerthException;
import dev.berth.image.ImageManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.RemoveImageRequest;
import runtime.v1.RemoveImageResponse;

/**
 * RemoveImage by id, tag or digest. Removing an image that is not there succeeds (the CRI contract
 * asks for idempotent removal); removing one of several tags keeps the image under the others.
 */
@ApplicationScoped
public class RemoveImageHandler {
    @Inject
    ImageManager images;

    public RemoveImageResponse handle(RemoveImageRequest req) {
        String ref = req.getImage().getImage();
        if (ref.isEmpty()) {
            throw BerthException.invalid("RemoveImage: image.image is required");
        }
        images.remove(ref);
        return RemoveImageResponse.getDefaultInstance();
    }
}
