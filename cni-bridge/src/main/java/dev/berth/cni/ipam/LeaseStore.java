package dev.berth.cni.ipam;

import dev.berth.core.error.BerthException;
import dev.berth.core.fs.AtomicFiles;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * host-local style lease files: {@code <dataDir>/<network>/<ip>} holding "containerId\nifName",
 * plus {@code last_reserved_ip.<set>}. A lease is created with O_CREAT|O_EXCL, so two writers can
 * never both take one address; all changes also run under a per-network lock (in this JVM and,
 * through flock on {@code lock}, across processes sharing the dir). Files survive restarts.
 */
public final class LeaseStore {
    private static final Map<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
    /**
     * Holder ("containerId/ifName") to addresses, per network dir: read from disk once per process
     * and kept in step by reserve/release, so allocation does not read every lease file. Only
     * touched under the network's lock; berth is the only writer of its lease dirs.
     */
    private static final Map<Path, Map<String, java.util.Set<InetAddress>>> INDEX = new ConcurrentHashMap<>();

    private final Path dir;

    public LeaseStore(Path dataDir, String network) {
        this.dir = dataDir.resolve(network);
    }

    public Path dir() {
        return dir;
    }

    /** A lease: who holds which address. */
    public record Lease(InetAddress address, String containerId, String ifName) {}

    /** Runs {@code work} holding the network's lock. */
    public <T> T locked(Supplier<T> work) {
        ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(key(), k -> new ReentrantLock());
        jvm.lock();
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE);
                    FileLock ignored = ch.lock()) {
                return work.get();
            }
        } catch (IOException e) {
            throw BerthException.internal("IPAM store " + dir + ": " + e.getMessage(), e);
        } finally {
            jvm.unlock();
        }
    }

    /**
     * Takes {@code address} for the holder; false when someone holds it already. The lease appears
     * whole or not at all: its content goes to a temporary file first, which is then hard-linked
     * to the address's name (link(2) fails if the name exists, as O_EXCL would). A kill -9 between
     * an O_EXCL create and its write would leave an empty lease that no release matches.
     */
    public boolean reserve(InetAddress address, String containerId, String ifName) {
        Path f = dir.resolve(address.getHostAddress());
        Path tmp = AtomicFiles.temporaryFor(f);
        try {
            Files.createDirectories(dir);
            // no fsync: a lease must survive the daemon's death (the page cache does), and after a
            // power loss the pods it was for are gone too. The temp name is free: every change
            // runs under the network's lock, and collectGarbage removes one a kill left behind.
            Files.write(tmp, (containerId + "\n" + ifName).getBytes(StandardCharsets.UTF_8));
            try {
                Files.createLink(f, tmp);
            } finally {
                Files.deleteIfExists(tmp);
            }
            index().computeIfAbsent(containerId + "/" + ifName, k -> new java.util.LinkedHashSet<>()).add(address);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            throw BerthException.internal("IPAM store: cannot write lease " + f + ": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes every lease whose holder is not in {@code validHolders} (container ids), and any
     * temporary file a kill left; returns what was released. For the daemon's start, when it knows
     * every pod attached to the network: a crash can leave a lease no pod will ever release (torn
     * by an older berth, or held by a pod whose teardown failed). Call under {@link #locked}.
     */
    public List<Lease> collectGarbage(java.util.Set<String> validHolders) {
        List<Lease> found;
        try {
            found = leasesIn(AtomicFiles.listRemovingLeftovers(dir)); // one listing for both
        } catch (IOException e) {
            throw BerthException.internal("IPAM store: cannot list " + dir + ": " + e.getMessage(), e);
        }
        List<Lease> released = new ArrayList<>();
        for (Lease l : found) {
            if (!validHolders.contains(l.containerId())) {
                try {
                    Files.deleteIfExists(dir.resolve(l.address.getHostAddress()));
                } catch (IOException e) {
                    throw BerthException.internal("IPAM store: cannot release " + l.address + ": " + e.getMessage(), e);
                }
                released.add(l);
            }
        }
        INDEX.remove(key()); // rebuilt from the files at the next use
        return released;
    }

    public List<Lease> leases() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return leasesIn(s::iterator);
        } catch (IOException e) {
            throw BerthException.internal("IPAM store: cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The leases among a listing of the dir (other files: the lock, last_reserved_ip.*, temporary files). */
    private static List<Lease> leasesIn(Iterable<Path> entries) throws IOException {
        List<Lease> out = new ArrayList<>();
        for (Path f : entries) {
            String name = f.getFileName().toString();
            if (name.equals("lock") || name.startsWith("last_reserved_ip") || name.startsWith(".")
                    || !(name.contains(".") || name.contains(":"))) {
                continue;
            }
            InetAddress a;
            try {
                a = Cidr.parseAddress(name);
            } catch (BerthException notAnAddress) {
                continue;
            }
            try {
                String[] parts = Files.readString(f, StandardCharsets.UTF_8).split("\n", -1);
                out.add(new Lease(a, parts[0].strip(), parts.length > 1 ? parts[1].strip() : ""));
            } catch (NoSuchFileException gone) {
                // released meanwhile
            }
        }
        return out;
    }

    /** The holder's leases (from the in-memory index; call under {@link #locked}). */
    public List<Lease> leasesOf(String containerId, String ifName) {
        if (ifName == null) {
            return leases().stream().filter(l -> l.containerId.equals(containerId)).toList();
        }
        return index().getOrDefault(containerId + "/" + ifName, java.util.Set.of()).stream()
                .map(a -> new Lease(a, containerId, ifName)).toList();
    }

    /** Whether no address is leased in this network. */
    public boolean isEmpty() {
        return index().values().stream().allMatch(java.util.Set::isEmpty);
    }

    /** Forgets the in-memory indexes, as a new process would start (tests of persistence). */
    static void dropIndexes() {
        INDEX.clear();
    }

    private Path key() {
        return dir.toAbsolutePath().normalize();
    }

    private Map<String, java.util.Set<InetAddress>> index() {
        return INDEX.computeIfAbsent(key(), k -> {
            Map<String, java.util.Set<InetAddress>> m = new ConcurrentHashMap<>();
            for (Lease l : leases()) {
                m.computeIfAbsent(l.containerId + "/" + l.ifName, x -> new java.util.LinkedHashSet<>())
                        .add(l.address);
            }
            return m;
        });
    }

    public boolean isTaken(InetAddress a) {
        return Files.exists(dir.resolve(a.getHostAddress()));
    }

    /** Deletes every lease of the holder; returns what was released. Releasing nothing is fine. */
    public List<Lease> release(String containerId, String ifName) {
        List<Lease> mine = leasesOf(containerId, ifName);
        for (Lease l : mine) {
            try {
                Files.deleteIfExists(dir.resolve(l.address.getHostAddress()));
            } catch (IOException e) {
                throw BerthException.internal("IPAM store: cannot release " + l.address + ": " + e.getMessage(), e);
            }
            java.util.Set<InetAddress> held = index().get(l.containerId + "/" + l.ifName);
            if (held != null) {
                held.remove(l.address);
                if (held.isEmpty()) {
                    index().remove(l.containerId + "/" + l.ifName);
                }
            }
        }
        return mine;
    }

    public Optional<InetAddress> lastReserved(int rangeSet) {
        Path f = dir.resolve("last_reserved_ip." + rangeSet);
        try {
            return Optional.of(Cidr.parseAddress(Files.readString(f, StandardCharsets.UTF_8)));
        } catch (IOException | BerthException e) {
            return Optional.empty();
        }
    }

    public void setLastReserved(int rangeSet, InetAddress a) {
        Path f = dir.resolve("last_reserved_ip." + rangeSet);
        try {
            Files.writeString(f, a.getHostAddress(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw BerthException.internal("IPAM store: cannot write " + f + ": " + e.getMessage(), e);
        }
    }

    /** Removes the network's dir when it holds no lease any more (census: nothing left behind). */
    public void removeIfEmpty() {
        if (!leases().isEmpty() || !Files.isDirectory(dir)) {
            return;
        }
        INDEX.remove(key());
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a concurrent reservation re-created a file: the dir stays, which is right
        }
    }
}
