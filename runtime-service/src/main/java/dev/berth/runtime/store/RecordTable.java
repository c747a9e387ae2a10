package dev.berth.runtime.store;

import dev.berth.core.state.StateStore;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The records of one kind, kept in memory as immutable snapshots and persisted to the
 * {@link StateStore}. Reads ({@link #get}, {@link #list}) never lock and never touch the disk: a
 * reader sees the last published snapshot while a lifecycle step works on the next one. Writers
 * hold the record's lock (see {@link IdLocks}) and change a record only through {@link #put} or
 * {@link #update}, which commit to the StateStore first and publish after, so memory never shows
 * what a restart would not find (except progress that is deliberately {@link #publish published}
 * only, such as a half-created record the failure path undoes from).
 */
public final class RecordTable<R> {
    private final StateStore state;
    private final String kind;
    private final Function<R, String> idOf;
    private final ConcurrentSkipListMap<String, R> records = new ConcurrentSkipListMap<>();

    /** Loads every record of {@code kind} from the StateStore. */
    public RecordTable(StateStore state, String kind, Class<R> type, Function<R, String> idOf) {
        this.state = state;
        this.kind = kind;
        this.idOf = idOf;
        for (R r : state.list(kind, type)) {
            records.put(idOf.apply(r), r);
        }
    }

    public Optional<R> get(String id) {
        return id == null ? Optional.empty() : Optional.ofNullable(records.get(id));
    }

    public boolean contains(String id) {
        return id != null && records.containsKey(id);
    }

    /** Every record, in id order, as published when the call began (weakly consistent). */
    public List<R> list() {
        return List.copyOf(records.values());
    }

    /** Commits {@code r} to the StateStore, then publishes it. */
    public R put(R r) {
        state.put(kind, idOf.apply(r), r);
        records.put(idOf.apply(r), r);
        return r;
    }

    /**
     * Applies {@code change} to the current record and puts the result; the caller holds the
     * record's lock. Empty when there is no such record.
     */
    public Optional<R> update(String id, UnaryOperator<R> change) {
        R current = records.get(id);
        if (current == null) {
            return Optional.empty();
        }
        R next = change.apply(current);
        return Optional.of(next == current ? current : put(next));
    }

    /** Publishes {@code r} in memory only (progress a later put makes durable). */
    public R publish(R r) {
        records.put(idOf.apply(r), r);
        return r;
    }

    /** Commits {@code r} to the StateStore without publishing (a write overlapped with other work). */
    public void persist(R r) {
        state.put(kind, idOf.apply(r), r);
    }

    /**
     * Removes the record from memory only; {@link #deleteStored} follows. Used where a record a
     * restart still finds is harmless (recovery sees its resources gone and the removal repeats).
     */
    public void unpublish(String id) {
        records.remove(id);
    }

    /** Deletes the record from the StateStore only (after {@link #unpublish}); absent is fine. */
    public void deleteStored(String id) {
        state.delete(kind, id);
    }

    /** Deletes the record from the StateStore, then from memory; absent is fine. */
    public void delete(String id) {
        state.delete(kind, id);
        records.remove(id);
    }
}
