package dev.berth.image.layer;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Layers and blobs (by digest) a pull in progress is about to use, and images a container being
 * created uses. Garbage collection runs under {@link #lock()} and keeps leased ones, so content a
 * pull found or wrote cannot vanish before the pull records its image, nor an image's layers before
 * the container's overlay is mounted on them. RemoveImage waits for an image's
 * {@linkplain #acquireUse use leases} to end ({@link #awaitUnused}).
 */
public final class LayerLeases {
    private final Object lock = new Object();
    private final Map<String, Integer> counts = new HashMap<>();
    /** Image id -> use leases held on it. */
    private final Map<String, Integer> users = new HashMap<>();

    /** A held lease; closing it releases the layers. */
    public final class Lease implements AutoCloseable {
        private final java.util.List<String> diffIds;
        private final String imageId;
        private boolean closed;

        private Lease(Collection<String> diffIds, String imageId) {
            this.diffIds = new java.util.ArrayList<>(diffIds);
            this.imageId = imageId;
        }

        /** Adds more digests to this lease. */
        public void add(Collection<String> more) {
            synchronized (lock) {
                if (closed) {
                    throw new IllegalStateException("lease closed");
                }
                for (String d : more) {
                    counts.merge(d, 1, Integer::sum);
                }
                diffIds.addAll(more);
            }
        }

        @Override
        public void close() {
            synchronized (lock) {
                if (closed) {
                    return;
                }
                closed = true;
                for (String d : diffIds) {
                    counts.computeIfPresent(d, (k, n) -> n > 1 ? n - 1 : null);
                }
                if (imageId != null) {
                    users.computeIfPresent(imageId, (k, n) -> n > 1 ? n - 1 : null);
                    lock.notifyAll();
                }
            }
        }
    }

    public Lease acquire(Collection<String> diffIds) {
        synchronized (lock) {
            for (String d : diffIds) {
                counts.merge(d, 1, Integer::sum);
            }
            return new Lease(diffIds, null);
        }
    }

    /** Leases the layers of image {@code imageId} for a container being created. */
    public Lease acquireUse(String imageId, Collection<String> diffIds) {
        synchronized (lock) {
            for (String d : diffIds) {
                counts.merge(d, 1, Integer::sum);
            }
            users.merge(imageId, 1, Integer::sum);
            return new Lease(diffIds, imageId);
        }
    }

    /** Whether a container being created holds image {@code imageId}. */
    public boolean inUse(String imageId) {
        synchronized (lock) {
            return users.containsKey(imageId);
        }
    }

    /**
     * Waits until no container being created holds image {@code imageId}, at most until
     * {@code deadlineNanos} (System.nanoTime); returns whether it is free.
     */
    public boolean awaitUnused(String imageId, long deadlineNanos) {
        synchronized (lock) {
            while (users.containsKey(imageId)) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    public Object lock() {
        return lock;
    }

    /** Call while holding {@link #lock()}. */
    public boolean isLeased(String diffId) {
        return counts.containsKey(diffId);
    }
}
