package dev.berth.image;

/**
 * An image found in the local store with its layers held: until {@link #close()} neither a
 * RemoveImage (it waits, then fails with FAILED_PRECONDITION) nor garbage collection removes them.
 * CreateContainer holds one from its image lookup until the overlay is mounted; the mount keeps the
 * layers from then on. Closing twice is harmless.
 */
public final class ImageLease implements AutoCloseable {
    private final LocalImage image;
    private final Runnable release;
    private boolean closed;

    public ImageLease(LocalImage image, Runnable release) {
        this.image = image;
        this.release = release;
    }

    /** A lease over an image no store backs (tests, lookups without removal). */
    public static ImageLease unheld(LocalImage image) {
        return new ImageLease(image, () -> {});
    }

    public LocalImage image() {
        return image;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            release.run();
        }
    }
}
