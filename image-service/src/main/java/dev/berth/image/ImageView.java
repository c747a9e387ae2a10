package dev.berth.image;

import java.util.List;

/**
 * What ImageStatus and ListImages report about an image.
 *
 * @param user the image config's User ("1000", "app", "app:group", or "")
 */
public record ImageView(String id, List<String> repoTags, List<String> repoDigests, long size, String user,
        boolean pinned) {}
