package dev.berth.image.content;

import dev.berth.core.error.BerthException;
import dev.berth.core.fs.OwnerOnly;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Content-addressed blobs (manifests, indexes, configs) under {@code root/sha256/<hex>}.
 *
 * <p>A blob is written to {@code root/ingest/} first, checked against its digest and size, synced,
 * then renamed into place: a blob file that exists is always complete and correct. Two writers of
 * the same blob both succeed (the content is the same). Leftovers in ingest/ after a crash are
 * removed by {@link #recover()}. The root is 0700: blobs are image content no other user may read.
 */
public final class BlobStore {
    private final Path root;
    private final Path ingest;

    public BlobStore(Path root) {
        this.root = root;
        this.ingest = root.resolve("ingest");
        OwnerOnly.directory(root);
        try {
            Files.createDirectories(ingest);
            Files.createDirectories(root.resolve("sha256"));
            Files.createDirectories(root.resolve("sha512"));
        } catch (IOException e) {
            throw BerthException.internal("cannot create the blob store at " + root + ": " + e.getMessage(), e);
        }
    }

    public Path root() {
        return root;
    }

    /** Removes partial writes left by a crash. */
    public void recover() {
        try (Stream<Path> s = Files.list(ingest)) {
            for (Path p : s.toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw BerthException.internal("cannot clean " + ingest + ": " + e.getMessage(), e);
        }
    }

    public Path path(String digest) {
        Digests.check(digest, "blob store");
        return root.resolve(Digests.algorithm(digest)).resolve(Digests.hex(digest));
    }

    public boolean contains(String digest) {
        return Files.isRegularFile(path(digest));
    }

    public Optional<byte[]> read(String digest) {
        try {
            return Optional.of(Files.readAllBytes(path(digest)));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stores bytes already in memory after checking them against {@code digest}. */
    public void put(String digest, byte[] data, String what) {
        String actual = Digests.compute(Digests.check(digest, what), data);
        if (!actual.equals(digest)) {
            throw BerthException.precondition("%s: content does not match its digest: expected %s, got %s",
                    what, digest, actual);
        }
        if (contains(digest)) {
            return;
        }
        try {
            Path tmp = Files.createTempFile(ingest, Digests.hex(digest).substring(0, 12) + "-", ".tmp");
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ch.write(java.nio.ByteBuffer.wrap(data));
                    ch.force(true);
                }
                publish(tmp, path(digest));
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw BerthException.internal(what + ": cannot write blob " + digest + ": " + e.getMessage(), e);
        }
    }

    /**
     * Streams {@code in} to the store, verifying digest and size before the blob becomes visible.
     * A mismatch leaves nothing behind.
     */
    public void write(String digest, long size, InputStream in, String what) {
        if (contains(digest)) {
            return;
        }
        try {
            Path tmp = Files.createTempFile(ingest, Digests.hex(digest).substring(0, 12) + "-", ".tmp");
            try {
                VerifyingInputStream v = new VerifyingInputStream(in, digest, size);
                try (var out = Files.newOutputStream(tmp, StandardOpenOption.WRITE)) {
                    v.transferTo(out);
                }
                String mismatch = v.mismatch();
                if (mismatch != null) {
                    throw BerthException.precondition("%s: blob %s failed verification: %s", what, digest, mismatch);
                }
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                publish(tmp, path(digest));
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (VerifyingInputStream.SizeExceededException e) {
            throw BerthException.precondition("%s: %s", what, e.getMessage());
        } catch (IOException e) {
            throw BerthException.unavailable(what + ": reading blob " + digest + " failed: " + e.getMessage(), e);
        }
    }

    private static void publish(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            // another writer won the race with identical content
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("blob store must be on one filesystem", e);
        }
    }

    public void delete(String digest) {
        try {
            Files.deleteIfExists(path(digest));
        } catch (IOException e) {
            throw BerthException.internal("cannot delete blob " + digest + ": " + e.getMessage(), e);
        }
    }

    /** Every stored digest. */
    public List<String> list() {
        List<String> out = new ArrayList<>();
        for (String alg : List.of("sha256", "sha512")) {
            try (Stream<Path> s = Files.list(root.resolve(alg))) {
                s.forEach(p -> out.add(alg + ":" + p.getFileName()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }
}
