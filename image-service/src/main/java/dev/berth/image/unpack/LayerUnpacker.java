package dev.berth.image.unpack;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.linux.Errno;
import dev.berth.linux.FileNodes;
import dev.berth.linux.LinuxException;
import dev.berth.linux.RegularFiles;
import dev.berth.linux.Xattrs;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Unpacks one layer tarball into a directory that overlayfs can use as a lowerdir.
 *
 * <p>OCI whiteouts become overlay's own form: {@code .wh.NAME} a 0/0 character device NAME, and
 * {@code .wh..wh..opq} the xattr {@code trusted.overlay.opaque=y} on its directory. Ownership, modes
 * (setuid included), mtimes, xattrs, hard links, symlinks, fifos and device nodes are kept.
 *
 * <p>Containment: an entry with an absolute name or a ".." component, a hard link whose target is
 * such a name, and any entry that would be created through a symlink (a parent path component that
 * is a symlink) fail the layer with PERMISSION_DENIED. Existing entries are replaced without
 * following symlinks, so a symlink planted earlier in the layer cannot redirect a later write.
 * Symlink targets themselves are stored as given: they are resolved inside the container only.
 *
 * <p>Bounds ({@link Limits}): the tar stream is read by {@link TarReader}, which refuses oversized
 * extended headers and long names before reading them, counts entries, and keeps xattr values as raw
 * bytes; the caller bounds the uncompressed bytes ({@link Limits#bound}). Nothing is kept per entry:
 * directory times wait in a scratch file ({@link DirTimes}) and disk usage is counted on the way.
 */
public final class LayerUnpacker {
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";
    /** The longest file name (one path component) Linux file systems take. */
    private static final int NAME_MAX = 255;
    /** Parent directories remembered as checked, at most (then forgotten all at once). */
    private static final int CHECKED_DIRS_MAX = 4096;
    /** Bytes copied from the tar stream into a file per system call. */
    private static final int WRITE_BUFFER = 1 << 17;

    /**
     * What an unpacked layer holds, counted while unpacking (no per-file bookkeeping): apparent bytes of
     * regular files, disk bytes (4 KiB blocks, hard links once), inodes, and tar entries.
     */
    public record Stats(long bytes, long diskBytes, long inodes, long entries) {}

    /**
     * Bounds on one layer, so that neither a registry nor an image can exhaust the daemon's heap (96 MiB)
     * or its disk with a small download: uncompressed bytes (a gzip bomb), tar entries, the size of one
     * extended header or long name (read into memory), and of a name.
     *
     * @param maxBytes uncompressed bytes of one layer, at most
     * @param maxExpansion uncompressed bytes per compressed byte above {@link #EXPANSION_FLOOR}
     * @param maxEntries tar entries of one layer
     * @param maxHeaderBytes one pax extended header or GNU long name (1 MiB, as Go's archive/tar)
     * @param maxNameBytes one entry name or link target (PATH_MAX)
     */
    public record Limits(long maxBytes, long maxExpansion, long maxEntries, int maxHeaderBytes, int maxNameBytes) {
        /** Layers up to this size are never refused for their compression ratio. */
        public static final long EXPANSION_FLOOR = 1L << 30;

        public static final Limits DEFAULT = new Limits(64L << 30, 200, 1_000_000, 1 << 20, 4096);

        public Limits withMaxBytes(long n) {
            return new Limits(n, maxExpansion, maxEntries, maxHeaderBytes, maxNameBytes);
        }

        public Limits withMaxEntries(long n) {
            return new Limits(maxBytes, maxExpansion, n, maxHeaderBytes, maxNameBytes);
        }

        /**
         * The limits for a layer of {@code compressedSize} bytes: at most {@code maxExpansion} times that
         * (but never less than {@link #EXPANSION_FLOOR}), and never more than {@code maxBytes}.
         */
        public Limits forCompressedSize(long compressedSize) {
            long byRatio = compressedSize > Long.MAX_VALUE / Math.max(1, maxExpansion) ? Long.MAX_VALUE
                    : compressedSize * maxExpansion;
            return withMaxBytes(Math.min(maxBytes, Math.max(EXPANSION_FLOOR, byRatio)));
        }

        /** Wraps an uncompressed layer stream so that reading past {@link #maxBytes} fails (RESOURCE_EXHAUSTED). */
        public InputStream bound(InputStream in, String what) {
            return new BoundedStream(in, maxBytes, what);
        }
    }

    private static final class BoundedStream extends dev.berth.image.content.ReadThroughFilterStream {
        private final long max;
        private final String what;
        private long count;

        BoundedStream(InputStream in, long max, String what) {
            super(in);
            this.max = max;
            this.what = what;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, (int) Math.min(len, max - count + 1));
            if (n > 0) {
                count += n;
                if (count > max) {
                    throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, what + ": the layer uncompresses to more "
                            + "than " + max + " bytes, the limit for this layer (a compression bomb, or an image too "
                            + "large for this node's limits)");
                }
            }
            return n;
        }

    }

    private LayerUnpacker() {}

    /** Wraps {@code in} in the right decompressor, detected from the first bytes (gzip, zstd, or plain tar). */
    public static InputStream decompress(InputStream in) throws IOException {
        BufferedInputStream b = new BufferedInputStream(in, 1 << 16);
        b.mark(4);
        byte[] magic = b.readNBytes(4);
        b.reset();
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            return new GZIPInputStream(b, 1 << 16);
        }
        if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5 && (magic[2] & 0xff) == 0x2f
                && (magic[3] & 0xff) == 0xfd) {
            return new com.github.luben.zstd.ZstdInputStream(b);
        }
        return b;
    }

    /**
     * Unpacks the (uncompressed) tar stream {@code tar} into the existing empty directory {@code root}.
     * Reads the archive to its end-of-archive marker; the caller drains the rest for hashing.
     */
    public static Stats unpack(InputStream tar, Path root, String what) throws IOException {
        return unpack(tar, root, what, Limits.DEFAULT);
    }

    /** As {@link #unpack(InputStream, Path, String)}, within {@code limits} (the byte bound is the caller's stream's). */
    public static Stats unpack(InputStream tar, Path root, String what, Limits limits) throws IOException {
        try (Run run = new Run(root, what)) {
            return run.run(new TarReader(tar, limits, what));
        }
    }

    private static final class Run implements AutoCloseable {
        private final Path root;
        private final String what;
        private final DirTimes dirTimes;
        private final RegularFiles files = new RegularFiles(WRITE_BUFFER);
        /**
         * Directories (relative names) already seen to be real directories, not symlinks: their
         * entries need no lstat of every parent again. Forgotten whenever anything is removed, the
         * only way a checked directory could become something else while the layer unpacks.
         */
        private final java.util.Set<String> checkedDirs = new HashSet<>();
        private long bytes;
        private long diskBytes;
        private long inodes;
        private long entries;

        Run(Path root, String what) throws IOException {
            this.root = root;
            this.what = what;
            this.dirTimes = new DirTimes(root);
        }

        Stats run(TarReader tar) throws IOException {
            byte[] buf = new byte[WRITE_BUFFER];
            TarReader.Entry e;
            while ((e = tar.next()) != null) {
                entries++;
                try {
                    apply(e, tar.data(), buf);
                } catch (java.nio.file.FileSystemException fs) {
                    // The file system refused what the entry asks for: say which entry, as a content error.
                    throw cannotApply(e.name(), fs.getReason() == null ? fs.toString() : fs.getReason(), fs);
                } catch (LinuxException le) {
                    throw cannotApply(e.name(), le.getMessage(), le);
                }
            }
            // Directory mtimes last: creating entries inside a directory changes its mtime.
            dirTimes.apply();
            return new Stats(bytes, diskBytes, inodes, entries);
        }

        @Override
        public void close() throws IOException {
            try {
                dirTimes.close();
            } finally {
                files.close();
            }
        }

        private void apply(TarReader.Entry e, InputStream data, byte[] buf) throws IOException {
            String name = e.name();
            List<String> parts = components(name, "entry");
            if (parts.isEmpty()) {
                return; // the layer root itself ("./"): the overlay root's attributes are not a layer's to set
            }
            String base = parts.getLast();
            Path parent = ensureParents(parts.subList(0, parts.size() - 1), name);

            if (base.equals(OPAQUE)) {
                Xattrs.set(parent, "trusted.overlay.opaque", "y".getBytes(StandardCharsets.US_ASCII));
                return;
            }
            if (base.startsWith(WHITEOUT)) {
                String hidden = base.substring(WHITEOUT.length());
                if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..") || hidden.startsWith(WHITEOUT)) {
                    throw refuse("whiteout entry %s names no file", name);
                }
                Path target = parent.resolve(hidden);
                remove(target);
                FileNodes.mknod(target, FileNodes.S_IFCHR, 0, 0, 0);
                inodes++;
                return;
            }

            Path target = parent.resolve(base);
            if (isRegularFile(e.type())) {
                writeFile(e, target, data, buf);
                return;
            }
            boolean isDir = e.isDirectory();
            BasicFileAttributes existing = lstat(target);
            if (existing != null && !(isDir && existing.isDirectory())) {
                remove(target);
                existing = null;
            }
            switch (e.type()) {
                case '5' -> {
                    if (existing == null) {
                        Files.createDirectory(target);
                        inodes++;
                        diskBytes += 4096;
                    }
                }
                case '2' -> {
                    if (e.linkName().isEmpty()) {
                        throw refuse("symlink %s has an empty target", name);
                    }
                    Files.createSymbolicLink(target, Path.of(e.linkName()));
                    inodes++;
                }
                case '1' -> {
                    List<String> linkParts = components(e.linkName(), "hard link target of " + name);
                    if (linkParts.isEmpty()) {
                        throw refuse("hard link %s points at the layer root", name);
                    }
                    Path linkParent = ensureParents(linkParts.subList(0, linkParts.size() - 1), e.linkName());
                    Path source = linkParent.resolve(linkParts.getLast());
                    BasicFileAttributes s = lstat(source);
                    if (s == null || s.isDirectory()) {
                        throw BerthException.precondition("%s: hard link %s points to %s, which is %s earlier in the layer",
                                what, name, e.linkName(), s == null ? "not" : "a directory, not a file");
                    }
                    Files.createLink(target, source);
                    return; // shares the inode and its attributes
                }
                case '3', '4', '6' -> {
                    int type = e.type() == '3' ? FileNodes.S_IFCHR : e.type() == '4' ? FileNodes.S_IFBLK : FileNodes.S_IFIFO;
                    FileNodes.mknod(target, type, e.mode() & 07777, e.devMajor(), e.devMinor());
                    inodes++;
                }
                default -> throw new IllegalStateException("regular files are written by writeFile");
            }

            FileNodes.lchown(target, (int) e.uid(), (int) e.gid());
            if (e.type() != '2') {
                // After chown: chown clears setuid/setgid bits.
                FileNodes.chmod(target, e.mode() & 07777);
            }
            setXattrs(e, target);
            if (isDir) {
                dirTimes.add(target, e.mtimeNanos());
            } else {
                FileNodes.setTimesNoFollow(target, e.mtimeNanos(), e.mtimeNanos());
            }
        }

        /** Entry types unpacked as a regular file: '0', and what the reader did not map to another type. */
        private static boolean isRegularFile(char type) {
            return type != '1' && type != '2' && type != '3' && type != '4' && type != '5' && type != '6';
        }

        /**
         * A regular file: created exclusively (never through a symlink, never into an existing file;
         * what is there is removed first), then owner, mode, xattrs and times set on the open file.
         */
        private void writeFile(TarReader.Entry e, Path target, InputStream data, byte[] buf) throws IOException {
            int fd;
            try {
                fd = files.createExclusive(target, 0600);
            } catch (LinuxException le) {
                if (le.errno() != Errno.EEXIST) {
                    throw le;
                }
                remove(target); // a later entry replaces an earlier one, whatever it was
                fd = files.createExclusive(target, 0600);
            }
            boolean closed = false;
            try {
                int n;
                long written = 0;
                while ((n = data.read(buf)) > 0) {
                    files.write(fd, buf, 0, n);
                    written += n;
                }
                bytes += written;
                diskBytes += (written + 4095) / 4096 * 4096;
                inodes++;
                // After chown: chown clears setuid/setgid and security.capability.
                files.setOwnerAndMode(fd, (int) e.uid(), (int) e.gid(), e.mode() & 07777);
                setXattrs(e, target);
                files.setTimes(fd, e.mtimeNanos());
                closed = true;
                files.close(fd);
            } finally {
                if (!closed) {
                    try {
                        files.close(fd);
                    } catch (LinuxException ignored) {
                        // the first failure is the one to report
                    }
                }
            }
        }

        private void setXattrs(TarReader.Entry e, Path target) {
            for (Map.Entry<String, byte[]> x : e.xattrs().entrySet()) {
                String attr = x.getKey();
                if (attr.startsWith("trusted.overlay.")) {
                    continue; // overlay metadata is ours to write, never an image's
                }
                try {
                    Xattrs.set(target, attr, x.getValue()); // the archive's bytes, unchanged
                } catch (LinuxException le) {
                    throw BerthException.precondition("%s: cannot set xattr %s on %s: %s", what, attr, e.name(),
                            le.getMessage());
                }
            }
        }

        /** Removes what is at {@code p} (a subtree too); every checked directory must be checked again. */
        private void remove(Path p) throws IOException {
            checkedDirs.clear();
            removeExisting(p);
        }

        /** The name's components; refuses absolute names and "..". */
        private List<String> components(String name, String kind) {
            if (name.startsWith("/")) {
                throw refuse("%s %s is an absolute path; layers may only name paths inside the image", kind, name);
            }
            List<String> out = new ArrayList<>();
            for (String p : name.split("/")) {
                if (p.isEmpty() || p.equals(".")) {
                    continue;
                }
                if (p.equals("..")) {
                    throw refuse("%s %s contains \"..\" and would be written outside the layer", kind, name);
                }
                if (p.indexOf('\0') >= 0) {
                    throw refuse("%s %s contains a NUL byte", kind, name);
                }
                if (p.getBytes(StandardCharsets.UTF_8).length > NAME_MAX) {
                    throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, what + ": " + kind + " " + abbreviate(name)
                            + " has a component longer than " + NAME_MAX + " bytes, the longest file name Linux allows");
                }
                out.add(p);
            }
            return out;
        }

        /** Creates missing parent directories; refuses to pass through a symlink or a non-directory. */
        private Path ensureParents(List<String> parents, String name) throws IOException {
            if (parents.isEmpty()) {
                return root;
            }
            String key = String.join("/", parents);
            if (checkedDirs.contains(key)) {
                return root.resolve(key);
            }
            Path p = root;
            for (String c : parents) {
                p = p.resolve(c);
                BasicFileAttributes a = lstat(p);
                if (a == null) {
                    Files.createDirectory(p);
                } else if (a.isSymbolicLink()) {
                    throw refuse("entry %s would be written through the symlink %s, which may point outside the layer",
                            name, root.relativize(p));
                } else if (!a.isDirectory()) {
                    throw BerthException.precondition("%s: entry %s needs %s to be a directory, but the layer made it a file",
                            what, name, root.relativize(p));
                }
            }
            if (checkedDirs.size() >= CHECKED_DIRS_MAX) {
                checkedDirs.clear();
            }
            checkedDirs.add(key);
            return p;
        }

        private BerthException cannotApply(String name, String reason, Exception cause) {
            boolean full = reason.contains("No space left") || reason.contains("Disk quota");
            return new BerthException(full ? ErrorKind.RESOURCE_EXHAUSTED : ErrorKind.FAILED_PRECONDITION, what
                    + ": cannot unpack entry " + abbreviate(name) + ": " + reason, cause);
        }

        private BerthException refuse(String format, Object... args) {
            return new BerthException(ErrorKind.PERMISSION_DENIED, what + ": refusing a malicious layer: "
                    + String.format(format, args));
        }
    }

    /** A name for an error message: long ones shortened (they come from the layer, and may be 4 KiB). */
    static String abbreviate(String name) {
        return name.length() <= 120 ? name : name.substring(0, 60) + "..." + name.substring(name.length() - 40);
    }

    private static BasicFileAttributes lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }

    /** Deletes a path without following symlinks (a directory with its whole subtree). */
    static void removeExisting(Path p) throws IOException {
        BasicFileAttributes a = lstat(p);
        if (a == null) {
            return;
        }
        if (a.isDirectory()) {
            // Streamed, not listed: the directory may hold a million entries.
            try (var s = Files.newDirectoryStream(p)) {
                for (Path c : s) {
                    removeExisting(c);
                }
            }
        }
        Files.delete(p);
    }

}
