package dev.berth.server.rpc.image;

import dev.berth.image.ImageView;
import runtime.v1.Image;
import runtime.v1.ImageSpec;
import runtime.v1.Int64Value;

/** Builds CRI Image messages from the image store's views. */
final class ImageProtos {
    private ImageProtos() {}

    /**
     * The image config's User becomes uid when its user part is numeric ("1000", "1000:1000"),
     * username otherwise ("app", "app:staff"); empty sets neither.
     */
    static Image toProto(ImageView v) {
        Image.Builder b = Image.newBuilder()
                .setId(v.id())
                .addAllRepoTags(v.repoTags())
                .addAllRepoDigests(v.repoDigests())
                .setSize(v.size())
                .setSpec(ImageSpec.newBuilder().setImage(v.id()))
                .setPinned(v.pinned());
        String user = v.user() == null ? "" : v.user();
        int colon = user.indexOf(':');
        String name = colon >= 0 ? user.substring(0, colon) : user;
        if (!name.isEmpty()) {
            if (name.matches("\\d{1,18}")) {
                b.setUid(Int64Value.newBuilder().setValue(Long.parseLong(name)));
            } else {
                b.setUsername(name);
            }
        }
        return b.build();
    }
}
