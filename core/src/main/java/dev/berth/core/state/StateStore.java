package dev.berth.core.state;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.concurrent.NativeBlocking;
import dev.berth.core.error.BerthException;
import dev.berth.core.fs.OwnerOnly;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * berth's crash-safe metadata store: one SQLite database in WAL mode under the state root.
 *
 * <p>Records are JSON documents keyed by (kind, id): pods, containers, images, leases. SQLite with
 * {@code synchronous=FULL} makes every committed write survive {@code kill -9} and power loss;
 * a write that was not committed is simply absent after restart. The schema carries a version
 * number and {@link #MIGRATIONS} moves older databases forward on open.
 *
 * <p>One connection, guarded by this object's lock: metadata writes are small and rare next to
 * the work they describe (mounts, runc), so a single writer is simpler and fast enough.
 */
public final class StateStore implements AutoCloseable {
    /** Schema migrations; index i moves version i to i+1. Append only, never edit a released one. */
    private static final List<List<String>> MIGRATIONS = List.of(
            List.of(
                "CREATE TABLE records (kind TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,"
                        + " updated_at INTEGER NOT NULL, PRIMARY KEY (kind, id))"));

    public static final int SCHEMA_VERSION = MIGRATIONS.size();

    private static final ObjectMapper JSON = new ObjectMapper()
            .findAndRegisterModules()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final Path file;
    private final Connection db;

    private StateStore(Path file, Connection db) {
        this.file = file;
        this.db = db;
    }

    /**
     * Opens (creating if needed) {@code dir/berth.db}, migrating it to {@link #SCHEMA_VERSION}. The
     * directory is made 0700 and the database files 0600: records hold pod secrets (env).
     */
    public static StateStore open(Path dir) {
        Path file = dir.resolve("berth.db");
        try {
            OwnerOnly.directory(dir);
            if (!Files.exists(file)) {
                // SQLite creates the database with the umask's mode and gives the -wal and -shm files the
                // database's mode: an empty 0600 file first (SQLite takes it as a new database).
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
            for (String f : List.of("berth.db", "berth.db-wal", "berth.db-shm")) {
                OwnerOnly.file(dir.resolve(f));
            }
            SqliteLibrary.useCopyIn(dir);
            Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
            try (Statement st = db.createStatement()) {
                st.execute("PRAGMA journal_mode=WAL");
                st.execute("PRAGMA synchronous=FULL");
                st.execute("PRAGMA busy_timeout=5000");
            }
            StateStore store = new StateStore(file, db);
            store.migrate();
            return store;
        } catch (SQLException | IOException e) {
            throw BerthException.internal("cannot open the state store " + file + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    public synchronized int schemaVersion() {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("PRAGMA user_version")) {
            return rs.next() ? rs.getInt(1) : 0;
        } catch (SQLException e) {
            throw failure("read schema version", e);
        }
    }

    private synchronized void migrate() throws SQLException {
        int version = schemaVersion();
        if (version > SCHEMA_VERSION) {
            throw BerthException.precondition(
                    "state store %s has schema version %d, newer than this berth understands (%d); "
                            + "run a newer berth or move the state root aside",
                    file, version, SCHEMA_VERSION);
        }
        for (int v = version; v < SCHEMA_VERSION; v++) {
            db.setAutoCommit(false);
            try (Statement st = db.createStatement()) {
                for (String sql : MIGRATIONS.get(v)) {
                    st.execute(sql);
                }
                st.execute("PRAGMA user_version=" + (v + 1));
                db.commit();
            } catch (SQLException e) {
                db.rollback();
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        }
    }

    /** Inserts or replaces one record, committed before this returns. */
    public synchronized void put(String kind, String id, Object record) {
        String data;
        try {
            data = JSON.writeValueAsString(record);
        } catch (IOException e) {
            throw failure("write " + kind + " " + id, e);
        }
        // SQLite's commit (and its fsync) runs in native code: off a virtual thread's carrier
        NativeBlocking.unchecked(() -> {
            try (PreparedStatement ps = db.prepareStatement(
                    "INSERT OR REPLACE INTO records(kind, id, data, updated_at) VALUES (?, ?, ?, ?)")) {
                ps.setString(1, kind);
                ps.setString(2, id);
                ps.setString(3, data);
                ps.setLong(4, System.currentTimeMillis());
                return ps.executeUpdate();
            } catch (SQLException e) {
                throw failure("write " + kind + " " + id, e);
            }
        });
    }

    public synchronized <T> Optional<T> get(String kind, String id, Class<T> type) {
        try (PreparedStatement ps = db.prepareStatement("SELECT data FROM records WHERE kind = ? AND id = ?")) {
            ps.setString(1, kind);
            ps.setString(2, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(JSON.readValue(rs.getString(1), type)) : Optional.empty();
            }
        } catch (SQLException | IOException e) {
            throw failure("read " + kind + " " + id, e);
        }
    }

    public synchronized <T> List<T> list(String kind, Class<T> type) {
        try (PreparedStatement ps = db.prepareStatement("SELECT data FROM records WHERE kind = ? ORDER BY id")) {
            ps.setString(1, kind);
            List<T> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(JSON.readValue(rs.getString(1), type));
                }
            }
            return out;
        } catch (SQLException | IOException e) {
            throw failure("list " + kind, e);
        }
    }

    /** Deletes one record; deleting an absent record is not an error. Returns whether it existed. */
    public synchronized boolean delete(String kind, String id) {
        return NativeBlocking.unchecked(() -> {
            try (PreparedStatement ps = db.prepareStatement("DELETE FROM records WHERE kind = ? AND id = ?")) {
                ps.setString(1, kind);
                ps.setString(2, id);
                return ps.executeUpdate() > 0;
            } catch (SQLException e) {
                throw failure("delete " + kind + " " + id, e);
            }
        });
    }

    /** Runs several writes as one transaction: all of them survive a crash, or none does. */
    public synchronized void atomically(Runnable writes) {
        try {
            db.setAutoCommit(false);
            try {
                writes.run();
                NativeBlocking.unchecked(() -> {
                    try {
                        db.commit();
                    } catch (SQLException e) {
                        throw failure("commit a transaction", e);
                    }
                    return null;
                });
            } catch (RuntimeException e) {
                db.rollback();
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw failure("commit a transaction", e);
        }
    }

    /** Whether the database answers a query; used by the readiness check. */
    public synchronized boolean usable() {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
            return rs.next();
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            throw failure("close", e);
        }
    }

    private BerthException failure(String what, Exception e) {
        return BerthException.internal("state store " + file + ": " + what + ": " + e.getMessage(), e);
    }
}
