package dev.berth.server.rpc.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.image.ImageManager;
import dev.berth.image.ImageView;
import dev.berth.image.LocalImage;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.util.Optional;
import runtime.v1.ImageStatusRequest;
import runtime.v1.ImageStatusResponse;

/**
 * ImageStatus: an absent image is an empty response, not an error (kubelet pulls then). With
 * verbose, info["info"] holds JSON: the image config ("imageSpec") and the layer directories.
 */
@ApplicationScoped
public class ImageStatusHandler {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    ImageManager images;

    public ImageStatusResponse handle(ImageStatusRequest req) {
        String ref = req.getImage().getImage();
        if (ref.isEmpty()) {
            throw BerthException.invalid("ImageStatus: image.image is required");
        }
        Optional<ImageView> v = images.status(ref);
        if (v.isEmpty()) {
            return ImageStatusResponse.getDefaultInstance();
        }
        ImageStatusResponse.Builder b = ImageStatusResponse.newBuilder().setImage(ImageProtos.toProto(v.get()));
        if (req.getVerbose()) {
            b.putInfo("info", verboseInfo(v.get()));
        }
        return b.build();
    }

    private String verboseInfo(ImageView v) {
        ObjectNode info = JSON.createObjectNode();
        info.put("id", v.id());
        try {
            byte[] config = images.configJson(v.id()).orElse(null);
            if (config != null) {
                info.set("imageSpec", JSON.readTree(config));
            }
            images.find(v.id()).map(LocalImage::lowerDirs).ifPresent(dirs -> {
                var arr = info.putArray("lowerDirs");
                dirs.forEach(d -> arr.add(d.toString()));
            });
            return JSON.writeValueAsString(info);
        } catch (IOException e) {
            throw BerthException.internal("ImageStatus " + v.id() + ": stored config is not JSON: " + e.getMessage(), e);
        }
    }
}
