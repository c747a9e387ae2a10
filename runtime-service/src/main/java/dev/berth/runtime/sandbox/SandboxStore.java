package dev.berth.runtime.sandbox;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.berth.core.error.BerthException;
import dev.berth.core.state.StateStore;
import dev.berth.runtime.store.IdLocks;
import dev.berth.runtime.store.RecordTable;
import dev.berth.runtime.store.Reservations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import java.util.stream.Stream;
import runtime.v1.PodSandboxConfig;

/**
 * Every pod berth knows, apart from what is done to them: the records (immutable snapshots; see
 * {@link SandboxRecord} for the state machine), the name reservations, the per-pod locks and the
 * pending journal ({@code <run>/pods/<id>/pending.json}, written before RunPodSandbox touches the
 * host and again at READY, ahead of the StateStore commit). {@link SandboxManager} holds a pod's
 * lock exclusively for each lifecycle step; CreateContainer holds it shared. Status and list read
 * snapshots (with the decoded PodSandboxConfig) and never wait for a step.
 */
public final class SandboxStore {
    private static final Logger LOG = Logger.getLogger(SandboxStore.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    static final String PENDING = "pending.json";

    private final RecordTable<SandboxRecord> records;
    private final Reservations reservations = new Reservations();
    private final IdLocks locks = new IdLocks();
    /** Decoded configs by pod id, with the text they were decoded from (a resources update changes it). */
    private final Map<String, Decoded> configs = new ConcurrentHashMap<>();

    private record Decoded(String text, PodSandboxConfig config) {}
    private final Path podsDir;

    public SandboxStore(StateStore state, Path runDir) {
        this.records = new RecordTable<>(state, SandboxRecord.KIND, SandboxRecord.class, SandboxRecord::id);
        this.podsDir = runDir.resolve("pods");
        for (SandboxRecord r : records.list()) {
            reservations.reserve(r.reservationKey(), r.id());
        }
    }

    public Optional<SandboxRecord> get(String id) {
        return records.get(id);
    }

    public boolean contains(String id) {
        return records.contains(id);
    }

    /** Every pod, in id order. */
    public List<SandboxRecord> list() {
        return records.list();
    }

    /** Reserves the pod's name for {@code id}; returns the id that holds it already, or null. */
    public String reserve(String key, String id) {
        return reservations.reserve(key, id);
    }

    public void release(String key, String id) {
        reservations.release(key, id);
    }

    /** Commits the record, then publishes it; the caller holds the pod's lock. */
    public SandboxRecord save(SandboxRecord r) {
        return records.put(r);
    }

    /** Commits the pod's current record, if it still exists (the deferred commit of a finished RunPodSandbox). */
    public void commit(String id) {
        records.get(id).ifPresent(records::persist);
    }

    /** Keeps progress in memory only (the failure path undoes from it); the next save persists it. */
    public SandboxRecord remember(SandboxRecord r) {
        return records.publish(r);
    }

    /** Writes the record to the pod's pending file, then publishes it in memory. */
    public void writePending(SandboxRecord r) {
        Path dir = Path.of(r.podDir());
        try {
            Files.createDirectories(dir);
            // replaced whole or not at all: a kill -9 mid-write must not leave a torn file that
            // loadPending cannot read, which would forget a pod whose namespaces and network exist
            Path tmp = dir.resolve(PENDING + ".tmp");
            Files.write(tmp, JSON.writeValueAsBytes(r));
            Files.move(tmp, dir.resolve(PENDING), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw BerthException.internal("cannot write " + dir.resolve(PENDING) + ": " + e.getMessage(), e);
        }
        records.publish(r);
    }

    /**
     * Pods a crash caught before their first durable write: only their pending file knows them.
     * Each is published and its name reserved.
     */
    public List<SandboxRecord> loadPending() {
        List<SandboxRecord> out = new ArrayList<>();
        if (!Files.isDirectory(podsDir)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(podsDir)) {
            for (Path d : dirs.toList()) {
                Path pending = d.resolve(PENDING);
                String id = d.getFileName().toString();
                if (records.contains(id)) {
                    // a StopPodSandbox writes NOTREADY here first and commits it to the
                    // StateStore later; a crash between the two leaves the stored row READY
                    newerStop(id, pending).ifPresent(out::add);
                    continue;
                }
                if (!Files.exists(pending)) {
                    // killed between making the directory and writing pending.json: nothing on the
                    // host was touched yet, only the directory (and a torn temp file) remain
                    try {
                        Files.deleteIfExists(d.resolve(PENDING + ".tmp"));
                        Files.deleteIfExists(d);
                    } catch (IOException e) {
                        LOG.warning("cannot remove leftover " + d + ": " + e);
                    }
                    continue;
                }
                try {
                    SandboxRecord r = JSON.readValue(pending.toFile(), SandboxRecord.class);
                    records.publish(r);
                    reservations.reserve(r.reservationKey(), r.id());
                    out.add(r);
                } catch (IOException e) {
                    LOG.warning("unreadable " + pending + ": " + e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.warning("cannot list " + podsDir + ": " + e.getMessage());
        }
        return out;
    }

    private java.util.Optional<SandboxRecord> newerStop(String id, Path pending) {
        if (!Files.exists(pending)) {
            return java.util.Optional.empty();
        }
        try {
            SandboxRecord r = JSON.readValue(pending.toFile(), SandboxRecord.class);
            boolean storedReady = records.get(id).map(s -> s.state().equals(SandboxRecord.READY)).orElse(false);
            if (storedReady && r.state().equals(SandboxRecord.NOTREADY)) {
                records.publish(r);
                return java.util.Optional.of(r);
            }
        } catch (IOException e) {
            LOG.warning("unreadable " + pending + ": " + e.getMessage());
        }
        return java.util.Optional.empty();
    }

    /**
     * Forgets the record in memory and frees its name; the caller deletes the stored row later
     * ({@link #deleteStored}). A crash in between brings the pod back at restart without its
     * namespaces (so NOTREADY), and removing it again finds nothing left to undo.
     */
    public void forgetInMemory(SandboxRecord r) {
        records.unpublish(r.id());
        reservations.release(r.reservationKey(), r.id());
        configs.remove(r.id());
    }

    public void deleteStored(String id) {
        records.deleteStored(id);
    }

    /** Deletes the record (StateStore, then memory) and frees its name. */
    public void forget(SandboxRecord r) {
        records.delete(r.id());
        reservations.release(r.reservationKey(), r.id());
        configs.remove(r.id());
    }

    /** The pod's PodSandboxConfig, decoded once per config text. */
    public PodSandboxConfig config(SandboxRecord rec) {
        Decoded d = configs.get(rec.id());
        if (d != null && d.text().equals(rec.config())) {
            return d.config();
        }
        PodSandboxConfig c = decode(rec);
        configs.put(rec.id(), new Decoded(rec.config(), c));
        if (!records.contains(rec.id())) {
            configs.remove(rec.id()); // forgotten meanwhile: keep nothing of it
        }
        return c;
    }

    static PodSandboxConfig decode(SandboxRecord rec) {
        try {
            return PodSandboxConfig.parseFrom(Base64.getDecoder().decode(rec.config()));
        } catch (InvalidProtocolBufferException e) {
            throw BerthException.internal("stored config of pod " + rec.id() + " is unreadable", e);
        }
    }

    /** Waits for the pod's lock alone (lifecycle steps). */
    public IdLocks.Held lock(String id) {
        return locks.exclusive(id);
    }

    /** Waits for the pod's lock shared (a container being created in it). */
    public IdLocks.Held share(String id) {
        return locks.shared(id);
    }

    /** Pods whose lock is held or waited for now. */
    public int lockCount() {
        return locks.size();
    }
}
