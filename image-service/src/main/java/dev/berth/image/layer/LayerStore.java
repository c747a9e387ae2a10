package dev.berth.image.layer;

import dev.berth.core.error.BerthException;
import dev.berth.core.fs.OwnerOnly;
import dev.berth.core.state.StateStore;
import dev.berth.image.content.Digests;
import dev.berth.linux.InodeFlags;
import dev.berth.linux.LinuxException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Unpacked layers, one directory per diff_id ({@code root/<hex>}), each usable as an overlay lowerdir.
 *
 * <p>A layer is unpacked into {@code root/.tmp-<hex>-<n>} and renamed to its final name only when
 * complete and verified, then recorded in the state store (kind {@value #KIND}): a layer directory
 * without a record, or a temp directory, is debris from a crash and {@link #recover()} removes it.
 * Deletion renames the directory to a temp name first, so a crash mid-delete leaves only debris.
 * Layers are shared by images; which ones are still needed is decided by the image store.
 *
 * <p>Each layer also has a short name, a symlink {@code <root>/../l/<12 chars>} to its directory (as
 * containers/storage's {@code l/} links), beside the layers so that {@code root} keeps one directory
 * per layer: overlay mounts name lowerdirs by these, so the options of an image with a hundred layers
 * still fit in mount(2)'s page.
 */
public final class LayerStore {
    public static final String KIND = "image-layer";
    private static final String TMP = ".tmp-";
    private static final String LINKS = "l";
    private static final String LINK_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private static final int LINK_LENGTH = 12;
    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /**
     * @param bytes apparent size of the layer's regular files
     * @param diskBytes disk space used (4 KiB blocks, hard links counted once)
     * @param inodes inodes used
     * @param link the short name under {@code l/} (null in records written before short names)
     */
    public record LayerRecord(String diffId, long bytes, long diskBytes, long inodes, long createdAt, String link) {}

    /** Fills an empty directory with a layer's content and says what it used; throws to abandon it. */
    @FunctionalInterface
    public interface Filler {
        Usage fill(Path dir) throws IOException;
    }

    /**
     * What a layer uses, as its filler counted it (walking the tree afterwards would cost a key per
     * file in memory to count hard links once).
     *
     * @param bytes apparent size of regular files
     * @param diskBytes disk space (4 KiB blocks, hard links once)
     */
    public record Usage(long bytes, long diskBytes, long inodes) {}

    private final Path root;
    private final Path links;
    private final StateStore state;

    public LayerStore(Path root, StateStore state) {
        this.root = root;
        this.links = root.resolveSibling(LINKS);
        this.state = state;
        // 0700: layers hold setuid binaries and device nodes that no other local user may reach.
        OwnerOnly.directory(root);
        OwnerOnly.directory(links);
        spreadLayers(root);
    }

    /**
     * Marks the store as the top of independent trees (chattr +T) so that ext4 places each layer in a
     * block group of its own choosing, not beside the layer removed just before (see
     * {@link InodeFlags}): unpacking 20,000 files where as many were just deleted took several times
     * as long. Only a placement hint: a file system without it (or an error) changes nothing else.
     */
    private static void spreadLayers(Path root) {
        try {
            InodeFlags.add(root, InodeFlags.TOP_DIRECTORY);
        } catch (LinuxException e) {
            // placement only; the store works the same without it
        }
    }

    public Path root() {
        return root;
    }

    /** The lowerdir of a layer (whether or not it exists). */
    public Path dir(String diffId) {
        Digests.check(diffId, "layer store");
        String alg = Digests.algorithm(diffId);
        return root.resolve(alg.equals("sha256") ? Digests.hex(diffId) : alg + "-" + Digests.hex(diffId));
    }

    /**
     * The short path of a layer for an overlay lowerdir ({@code root/l/<link>}, a symlink to its
     * directory), or its directory when it has no short name.
     */
    public Path lowerDir(String diffId) {
        return get(diffId).filter(r -> r.link() != null).map(r -> links.resolve(r.link()))
                .orElse(dir(diffId));
    }

    /** The layer's record if it is complete on disk. */
    public Optional<LayerRecord> get(String diffId) {
        Optional<LayerRecord> r = state.get(KIND, diffId, LayerRecord.class);
        return r.filter(x -> Files.isDirectory(dir(diffId), LinkOption.NOFOLLOW_LINKS));
    }

    public List<LayerRecord> list() {
        return state.list(KIND, LayerRecord.class);
    }

    /**
     * Creates the layer with {@code filler} unless it exists. The directory appears atomically; when
     * the filler throws, nothing of it remains.
     */
    public LayerRecord create(String diffId, Filler filler) {
        Optional<LayerRecord> existing = get(diffId);
        if (existing.isPresent()) {
            return existing.get();
        }
        Path target = dir(diffId);
        Path tmp = root.resolve(TMP + target.getFileName() + "-" + System.nanoTime());
        try {
            Files.createDirectory(tmp);
            Files.setAttribute(tmp, "unix:mode", 0755);
            Usage u = filler.fill(tmp);
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                // A record-less directory (crash between rename and record) or a concurrent winner: replace debris.
                if (state.get(KIND, diffId, LayerRecord.class).isPresent()) {
                    deleteTree(tmp);
                    return get(diffId).orElseThrow();
                }
                deleteDir(target);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
                throw new IOException("cannot publish layer directory " + target + ": " + e, e);
            }
            LayerRecord rec = new LayerRecord(diffId, u.bytes(), u.diskBytes(), u.inodes(), System.currentTimeMillis(),
                    newLink(target));
            state.put(KIND, diffId, rec);
            return rec;
        } catch (IOException e) {
            deleteTree(tmp);
            throw BerthException.internal("cannot unpack layer " + diffId + " into " + root + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    /** Removes a layer: its record first, then its directory (renamed away before the slow delete). */
    public void delete(String diffId) {
        Optional<LayerRecord> r = state.get(KIND, diffId, LayerRecord.class);
        state.delete(KIND, diffId);
        r.filter(x -> x.link() != null).ifPresent(x -> deleteLink(x.link()));
        deleteDir(dir(diffId));
    }

    /** Makes a fresh short name for {@code dir}: a relative symlink {@code l/<random>} -> {@code ../<dir>}. */
    private String newLink(Path dir) throws IOException {
        Path target = links.relativize(dir);
        for (int attempt = 0; ; attempt++) {
            StringBuilder id = new StringBuilder(LINK_LENGTH);
            for (int i = 0; i < LINK_LENGTH; i++) {
                id.append(LINK_ALPHABET.charAt(RANDOM.nextInt(LINK_ALPHABET.length())));
            }
            try {
                Files.createSymbolicLink(links.resolve(id.toString()), target);
                return id.toString();
            } catch (FileAlreadyExistsException e) {
                if (attempt > 10) {
                    throw e;
                }
            }
        }
    }

    private void deleteLink(String link) {
        try {
            Files.deleteIfExists(links.resolve(link));
        } catch (IOException e) {
            // an orphan link is removed by recover()
        }
    }

    /** Whether {@code link} is the short name of an existing layer directory. */
    private boolean linkIntact(String link, String dirName) {
        try {
            return link != null && Files.readSymbolicLink(links.resolve(link)).equals(links.relativize(root.resolve(dirName)));
        } catch (IOException e) {
            return false;
        }
    }

    private void deleteDir(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path away = root.resolve(TMP + "del-" + dir.getFileName() + "-" + System.nanoTime());
        try {
            Files.move(dir, away, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw BerthException.internal("cannot remove layer directory " + dir + ": " + e.getMessage(), e);
        }
        deleteTree(away);
    }

    /**
     * Start-up cleanup after a crash: temp directories, directories without a record, records
     * without a directory.
     */
    public void recover() {
        Set<String> recorded = new HashSet<>();
        Set<String> linked = new HashSet<>();
        for (LayerRecord r : list()) {
            String name = dir(r.diffId()).getFileName().toString();
            if (!Files.isDirectory(dir(r.diffId()), LinkOption.NOFOLLOW_LINKS)) {
                state.delete(KIND, r.diffId());
                continue;
            }
            recorded.add(name);
            LayerRecord rec = r;
            if (!linkIntact(r.link(), name)) {
                // A record from before short names, or a link lost in a crash: give it a new one.
                try {
                    rec = new LayerRecord(r.diffId(), r.bytes(), r.diskBytes(), r.inodes(), r.createdAt(),
                            newLink(dir(r.diffId())));
                } catch (IOException e) {
                    throw BerthException.internal("cannot link layer " + r.diffId() + " in " + root + ": " + e, e);
                }
                state.put(KIND, r.diffId(), rec);
            }
            linked.add(rec.link());
        }
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.toList()) {
                if (!recorded.contains(p.getFileName().toString())) {
                    deleteTree(p);
                }
            }
        } catch (IOException e) {
            throw BerthException.internal("cannot scan the layer store " + root + ": " + e.getMessage(), e);
        }
        try (Stream<Path> s = Files.list(links)) {
            for (Path p : s.toList()) {
                if (!linked.contains(p.getFileName().toString())) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw BerthException.internal("cannot scan the layer links in " + root + ": " + e.getMessage(), e);
        }
    }

    /** Deletes a tree without following symlinks; best effort (debris is retried at the next start). */
    public static void deleteTree(Path p) {
        try {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            Files.walkFileTree(p, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    Files.delete(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // left for recover()
        }
    }
}
