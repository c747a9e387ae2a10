package dev.berth.image;

import java.util.List;

/**
 * An image in the local store, as persisted in the state store (kind {@value #KIND}, id = image id).
 *
 * @param diffIds the image's layers, bottom first
 * @param blobs digests of the manifests, index and config kept in the blob store for this image
 * @param size bytes as pulled: top-level manifest (and index) + config + compressed layers
 */
public record ImageRecord(String id, List<String> repoTags, List<String> repoDigests, List<String> diffIds,
        List<String> blobs, long size, boolean pinned, long pulledAt) {
    public static final String KIND = "image";
}
