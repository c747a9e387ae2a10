package dev.berth.image.unpack;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.linux.FileNodes;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Xattrs;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

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
 */
public final class LayerUnpacker {
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";
    private static final String XATTR_PAX = "SCHILY.xattr.";

    /** What an unpacked layer holds: apparent bytes of regular files and the number of entries. */
    public record Stats(long bytes, long entries) {}

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
        return new Run(root, what).run(tar);
    }

    private static final class Run {
        private final Path root;
        private final String what;
        private final Deque<Map.Entry<Path, Long>> dirTimes = new ArrayDeque<>();
        private long bytes;
        private long entries;

        Run(Path root, String what) {
            this.root = root;
            this.what = what;
        }

        Stats run(InputStream in) throws IOException {
            TarArchiveInputStream tar = new TarArchiveInputStream(in, StandardCharsets.UTF_8.name());
            byte[] buf = new byte[1 << 17];
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                entries++;
                apply(e, tar, buf);
            }
            // Directory mtimes last: creating entries inside a directory changes its mtime.
            while (!dirTimes.isEmpty()) {
                Map.Entry<Path, Long> d = dirTimes.pollLast();
                FileNodes.setTimesNoFollow(d.getKey(), d.getValue(), d.getValue());
            }
            return new Stats(bytes, entries);
        }

        private void apply(TarArchiveEntry e, InputStream data, byte[] buf) throws IOException {
            String name = e.getName();
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
                removeExisting(target);
                FileNodes.mknod(target, FileNodes.S_IFCHR, 0, 0, 0);
                return;
            }

            Path target = parent.resolve(base);
            boolean isDir = e.isDirectory();
            BasicFileAttributes existing = lstat(target);
            if (existing != null && !(isDir && existing.isDirectory())) {
                removeExisting(target);
                existing = null;
            }
            if (e.isDirectory()) {
                if (existing == null) {
                    Files.createDirectory(target);
                }
            } else if (e.isSymbolicLink()) {
                if (e.getLinkName().isEmpty()) {
                    throw refuse("symlink %s has an empty target", name);
                }
                Files.createSymbolicLink(target, Path.of(e.getLinkName()));
            } else if (e.isLink()) {
                List<String> linkParts = components(e.getLinkName(), "hard link target of " + name);
                if (linkParts.isEmpty()) {
                    throw refuse("hard link %s points at the layer root", name);
                }
                Path linkParent = ensureParents(linkParts.subList(0, linkParts.size() - 1), e.getLinkName());
                Path source = linkParent.resolve(linkParts.getLast());
                BasicFileAttributes s = lstat(source);
                if (s == null || s.isDirectory()) {
                    throw BerthException.precondition("%s: hard link %s points to %s, which is %s earlier in the layer",
                            what, name, e.getLinkName(), s == null ? "not" : "a directory, not a file");
                }
                Files.createLink(target, source);
                return; // shares the inode and its attributes
            } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
                int type = e.isCharacterDevice() ? FileNodes.S_IFCHR : e.isBlockDevice() ? FileNodes.S_IFBLK : FileNodes.S_IFIFO;
                FileNodes.mknod(target, type, e.getMode() & 07777, e.getDevMajor(), e.getDevMinor());
            } else if (e.isFile()) {
                try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                    int n;
                    while ((n = data.read(buf)) > 0) {
                        out.write(buf, 0, n);
                        bytes += n;
                    }
                }
            } else {
                throw BerthException.precondition("%s: entry %s has an unsupported tar type '%c'", what, name,
                        (char) (e.isGNUSparse() ? 'S' : '?'));
            }

            FileNodes.lchown(target, (int) e.getLongUserId(), (int) e.getLongGroupId());
            if (!e.isSymbolicLink()) {
                // After chown: chown clears setuid/setgid bits.
                FileNodes.chmod(target, e.getMode() & 07777);
            }
            for (Map.Entry<String, String> h : e.getExtraPaxHeaders().entrySet()) {
                if (h.getKey().startsWith(XATTR_PAX)) {
                    String attr = h.getKey().substring(XATTR_PAX.length());
                    if (attr.startsWith("trusted.overlay.")) {
                        continue; // overlay metadata is ours to write, never an image's
                    }
                    try {
                        Xattrs.set(target, attr, h.getValue().getBytes(StandardCharsets.ISO_8859_1));
                    } catch (LinuxException x) {
                        throw BerthException.precondition("%s: cannot set xattr %s on %s: %s", what, attr, name, x.getMessage());
                    }
                }
            }
            long mtime = toNanos(e.getLastModifiedTime());
            if (e.isDirectory()) {
                dirTimes.add(Map.entry(target, mtime));
            } else {
                FileNodes.setTimesNoFollow(target, mtime, mtime);
            }
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
                out.add(p);
            }
            return out;
        }

        /** Creates missing parent directories; refuses to pass through a symlink or a non-directory. */
        private Path ensureParents(List<String> parents, String name) throws IOException {
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
            return p;
        }

        private BerthException refuse(String format, Object... args) {
            return new BerthException(ErrorKind.PERMISSION_DENIED, what + ": refusing a malicious layer: "
                    + String.format(format, args));
        }
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
            try (var s = Files.list(p)) {
                for (Path c : s.toList()) {
                    removeExisting(c);
                }
            }
        }
        Files.delete(p);
    }

    private static long toNanos(FileTime t) {
        return t == null ? 0 : t.to(java.util.concurrent.TimeUnit.NANOSECONDS);
    }
}
