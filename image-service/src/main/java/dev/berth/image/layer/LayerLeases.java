package dev.berth.image.layer;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Layers and blobs (by digest) a pull in progress is about to use. Garbage collection runs under
 * {@link #lock()} and keeps leased ones, so content a pull found or wrote cannot vanish before the
 * pull records its image.
 */
public final class LayerLeases {
    private final Object lock = new Object();
    private final Map<String, Integer> counts = new HashMap<>();

    /** A held lease; closing it releases the layers. */
    public final class Lease implements AutoCloseable {
        private final java.util.List<String> diffIds;
        private boolean closed;

        private Lease(Collection<String> diffIds) {
            this.diffIds = new java.util.ArrayList<>(diffIds);
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
            }
        }
    }

    public Lease acquire(Collection<String> diffIds) {
        synchronized (lock) {
            for (String d : diffIds) {
                counts.merge(d, 1, Integer::sum);
            }
            return new Lease(diffIds);
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
