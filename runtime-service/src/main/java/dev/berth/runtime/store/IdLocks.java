package dev.berth.runtime.store;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One read-write lock per record id, made when first wanted and dropped when its last holder or
 * waiter lets go: asking about ids that do not exist (ContainerStatus of random ids) leaves nothing
 * behind. Lifecycle steps hold an id {@link #exclusive exclusively}; steps that only need the record
 * to stay as it is (a container being created in a pod) hold it {@link #shared shared}. Reads of
 * records never lock: they use the stores' snapshots.
 */
public final class IdLocks {
    private final Map<String, Entry> entries = new HashMap<>();

    private static final class Entry {
        final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        int users;
    }

    /** A held lock; closing releases it (once). */
    public interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /** Waits for the id's lock alone (re-entrant). */
    public Held exclusive(String id) {
        Entry e = enter(id);
        return hold(id, e, e.lock.writeLock());
    }

    /** Waits for the id's lock shared with other shared holders. */
    public Held shared(String id) {
        Entry e = enter(id);
        return hold(id, e, e.lock.readLock());
    }

    /** The id's lock alone if nobody holds it now; never waits. */
    public Optional<Held> tryExclusive(String id) {
        Entry e = enter(id);
        Lock l = e.lock.writeLock();
        if (!l.tryLock()) {
            leave(id, e);
            return Optional.empty();
        }
        return Optional.of(release(id, e, l));
    }

    /** Whether the current thread holds the id exclusively. */
    public boolean heldByCurrentThread(String id) {
        synchronized (entries) {
            Entry e = entries.get(id);
            return e != null && e.lock.isWriteLockedByCurrentThread();
        }
    }

    /** How many ids have a lock now (held or waited for). */
    public int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    private Held hold(String id, Entry e, Lock l) {
        try {
            l.lock();
        } catch (RuntimeException | Error t) {
            leave(id, e);
            throw t;
        }
        return release(id, e, l);
    }

    private Held release(String id, Entry e, Lock l) {
        boolean[] done = {false};
        return () -> {
            if (done[0]) {
                return;
            }
            done[0] = true;
            l.unlock();
            leave(id, e);
        };
    }

    private Entry enter(String id) {
        synchronized (entries) {
            Entry e = entries.computeIfAbsent(id, k -> new Entry());
            e.users++;
            return e;
        }
    }

    private void leave(String id, Entry e) {
        synchronized (entries) {
            if (--e.users == 0) {
                entries.remove(id, e);
            }
        }
    }
}
