package dev.berth.runtime.container;

import dev.berth.core.state.StateStore;
import dev.berth.runtime.container.ContainerRecord.Phase;
import dev.berth.runtime.store.IdLocks;
import dev.berth.runtime.store.RecordTable;
import dev.berth.runtime.store.Reservations;
import java.util.List;
import java.util.Optional;

/**
 * Every container berth knows, apart from what is done to them: the records (immutable snapshots,
 * committed to the StateStore before they are published), the (pod, name, attempt) index and the
 * per-container locks. {@link ContainerService} holds a container's lock for each lifecycle step
 * and changes its record only here; status and list read snapshots and never wait for a step.
 *
 * <p>A record's phase is its state machine:
 * <pre>
 *   (reserve) CREATING --(runtime created it)--> CREATED --(start)--> RUNNING --(exit/stop)--> EXITED
 *   CREATED --(start failed, or exited)--> EXITED
 *   any --(remove)--> REMOVING --(cleaned up)--> (deleted)
 *   CREATING/REMOVING found at start --(recover)--> (deleted)
 * </pre>
 * CREATING and REMOVING records are in the store (so a crash leads to the leftovers) but not
 * {@link #visible} to CRI callers.
 */
public final class ContainerStore {
    private final RecordTable<ContainerRecord> records;
    private final Reservations names = new Reservations();
    private final IdLocks locks = new IdLocks();

    public ContainerStore(StateStore state) {
        this.records = new RecordTable<>(state, ContainerRecord.KIND, ContainerRecord.class, ContainerRecord::id);
        for (ContainerRecord r : records.list()) {
            names.reserve(nameKey(r), r.id());
        }
    }

    /** The record in any phase. */
    public Optional<ContainerRecord> get(String id) {
        return records.get(id);
    }

    /** The record as CRI callers see it: not while it is being created or removed. */
    public Optional<ContainerRecord> visible(String id) {
        return records.get(id).filter(ContainerStore::isVisible);
    }

    /** Every record in any phase, in id order. */
    public List<ContainerRecord> all() {
        return records.list();
    }

    /** Every record CRI callers may see, in id order. */
    public List<ContainerRecord> visible() {
        return records.list().stream().filter(ContainerStore::isVisible).toList();
    }

    /** The records of one pod, in any phase. */
    public List<ContainerRecord> ofPod(String podId) {
        return records.list().stream().filter(r -> r.podId().equals(podId)).toList();
    }

    /**
     * Publishes a new CREATING record after reserving its (pod, name, attempt); returns the id that
     * already holds that name instead (nothing is published then).
     */
    public String reserve(ContainerRecord creating) {
        String taken = names.reserve(nameKey(creating), creating.id());
        if (taken == null) {
            records.publish(creating);
        }
        return taken;
    }

    /** Commits the record, then publishes it. The caller holds the container's lock. */
    public ContainerRecord put(ContainerRecord r) {
        return records.put(r);
    }

    /** Commits without publishing: the CREATING record's write, overlapped with preparing the container. */
    public void persist(ContainerRecord r) {
        records.persist(r);
    }

    /** Deletes the record (store, then memory) and frees its name. */
    public void delete(ContainerRecord r) {
        records.delete(r.id());
        names.release(nameKey(r), r.id());
    }

    /** Waits for the container's lock. */
    public IdLocks.Held lock(String id) {
        return locks.exclusive(id);
    }

    /** The container's lock if it is free now. */
    public Optional<IdLocks.Held> tryLock(String id) {
        return locks.tryExclusive(id);
    }

    /** Containers whose lock is held or waited for now (the lock map keeps no others). */
    public int lockCount() {
        return locks.size();
    }

    static boolean isVisible(ContainerRecord r) {
        return r.phase() != Phase.CREATING && r.phase() != Phase.REMOVING;
    }

    private static String nameKey(ContainerRecord r) {
        return r.podId() + "\0" + r.name() + "\0" + r.attempt();
    }
}
