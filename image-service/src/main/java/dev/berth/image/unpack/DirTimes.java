package dev.berth.image.unpack;

import dev.berth.linux.FileNodes;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Directory mtimes to set once a layer is unpacked (creating entries in a directory changes its
 * mtime). They go to a scratch file next to the layer, not to the heap: a layer of a million empty
 * directories must not cost the daemon a million paths. Order does not matter (setting a directory's
 * times leaves its parent's alone), so the file is replayed front to back.
 */
final class DirTimes implements AutoCloseable {
    private final Path root;
    private final Path file;
    private final DataOutputStream out;
    private long count;

    DirTimes(Path root) throws IOException {
        this.root = root;
        Path parent = root.toAbsolutePath().getParent();
        this.file = Files.createTempFile(parent, ".tmp-dirtimes-", "");
        this.out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
    }

    void add(Path dir, long mtimeNanos) throws IOException {
        byte[] rel = root.relativize(dir).toString().getBytes(StandardCharsets.UTF_8);
        out.writeInt(rel.length);
        out.write(rel);
        out.writeLong(mtimeNanos);
        count++;
    }

    /**
     * Sets every recorded directory's times. A directory that a later entry replaced, or that is now
     * reached through a symlink, is skipped: times are never set outside the layer.
     */
    void apply() throws IOException {
        out.flush();
        if (count == 0) {
            return;
        }
        Path realRoot = root.toRealPath();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            for (long i = 0; i < count; i++) {
                byte[] rel = new byte[in.readInt()];
                in.readFully(rel);
                long mtime = in.readLong();
                Path dir = realRoot.resolve(new String(rel, StandardCharsets.UTF_8));
                Path real;
                try {
                    real = dir.toRealPath();
                } catch (IOException gone) {
                    continue;
                }
                if (real.equals(dir) && Files.isDirectory(real, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    FileNodes.setTimesNoFollow(real, mtime, mtime);
                }
            }
        } catch (EOFException e) {
            throw new IOException("directory times scratch file " + file + " is truncated", e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            out.close();
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
