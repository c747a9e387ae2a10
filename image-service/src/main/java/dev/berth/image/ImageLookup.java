package dev.berth.image;

import java.util.Optional;

/** Finds images in the local store; what the runtime side needs from image-service. */
public interface ImageLookup {
    /**
     * Resolves a reference the way CRI callers write it: an image id ("sha256:..." or its hex
     * prefix), a tag ("busybox", "docker.io/library/busybox:1.36") or a digest reference
     * ("repo@sha256:..."). Empty when the image is not in the store.
     */
    Optional<LocalImage> find(String reference);

    /**
     * Finds the image and holds its layers until the lease is closed (see {@link ImageLease}). A
     * lookup without a store behind it holds nothing.
     */
    default Optional<ImageLease> lease(String reference) {
        return find(reference).map(ImageLease::unheld);
    }
}
