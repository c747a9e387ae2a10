package dev.berth.image.unpack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.linux.Xattrs;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unpacking into overlay form, and containment, on hand-made tarballs. Needs root (mknod, chown, trusted.*). */
class LayerUnpackerTest {
    @TempDir
    Path tmp;
    Path root;

    @BeforeEach
    void needRoot() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "unpacking needs root");
        root = Files.createDirectory(tmp.resolve("layer"));
    }

    /** A tiny tar writer: entries are (type, name, linkOrContent). */
    private static byte[] tar(String[]... entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(bytes)) {
            t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (String[] e : entries) {
                byte type = switch (e[0]) {
                    case "dir" -> TarConstants.LF_DIR;
                    case "sym" -> TarConstants.LF_SYMLINK;
                    case "link" -> TarConstants.LF_LINK;
                    default -> TarConstants.LF_NORMAL;
                };
                TarArchiveEntry te = new TarArchiveEntry(e[1], type, true);
                te.setMode(type == TarConstants.LF_DIR ? 0755 : 0644);
                byte[] data = null;
                if (type == TarConstants.LF_SYMLINK || type == TarConstants.LF_LINK) {
                    te.setLinkName(e[2]);
                } else if (type == TarConstants.LF_NORMAL) {
                    data = (e.length > 2 ? e[2] : "").getBytes(StandardCharsets.UTF_8);
                    te.setSize(data.length);
                }
                t.putArchiveEntry(te);
                if (data != null) {
                    t.write(data);
                }
                t.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    private LayerUnpacker.Stats unpack(byte[] tar) throws IOException {
        return LayerUnpacker.unpack(LayerUnpacker.decompress(new ByteArrayInputStream(tar)), root, "test layer");
    }

    @Test
    void whiteoutsAndOpaqueDirsBecomeOverlayMarkers() throws IOException {
        LayerUnpacker.Stats s = unpack(tar(new String[] {"dir", "etc/"}, new String[] {"file", "etc/.wh.hosts"},
                new String[] {"dir", "var/cache/"}, new String[] {"file", "var/cache/.wh..wh..opq"},
                new String[] {"file", "var/cache/new", "n"}));
        int mode = (int) Files.getAttribute(root.resolve("etc/hosts"), "unix:mode", LinkOption.NOFOLLOW_LINKS);
        assertEquals(0020000, mode & 0170000, "character device");
        assertEquals(0L, ((Number) Files.getAttribute(root.resolve("etc/hosts"), "unix:rdev", LinkOption.NOFOLLOW_LINKS)).longValue());
        assertArrayEquals("y".getBytes(), Xattrs.get(root.resolve("var/cache"), "trusted.overlay.opaque").orElseThrow());
        assertFalse(Files.exists(root.resolve("var/cache/.wh..wh..opq"), LinkOption.NOFOLLOW_LINKS));
        assertEquals("n", Files.readString(root.resolve("var/cache/new")));
        assertEquals(5, s.entries());
    }

    @Test
    void gzipIsDetectedFromTheBytes() throws IOException {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(tar(new String[] {"file", "hello", "world"}));
        }
        unpack(gz.toByteArray());
        assertEquals("world", Files.readString(root.resolve("hello")));
    }

    @Test
    void aLaterFileReplacesAnEarlierSymlinkInsteadOfWritingThroughIt() throws IOException {
        Path outside = Files.writeString(tmp.resolve("outside"), "keep");
        unpack(tar(new String[] {"sym", "x", outside.toString()}, new String[] {"file", "x", "replaced"}));
        assertEquals("keep", Files.readString(outside));
        assertFalse(Files.isSymbolicLink(root.resolve("x")));
        assertEquals("replaced", Files.readString(root.resolve("x")));
    }

    @Test
    void escapesAreRefused() throws IOException {
        String[][][] cases = {
            {{"file", "../escape", "x"}},
            {{"file", "/abs", "x"}},
            {{"file", "a/../../escape", "x"}},
            {{"sym", "d", tmp.toString()}, {"file", "d/escape", "x"}},
            {{"link", "h", "../../etc/passwd"}},
            {{"sym", "d", "/"}, {"link", "h", "d/etc/passwd"}},
            // a directory checked for an earlier file, then replaced by a symlink: checked again
            {{"dir", "d/"}, {"file", "d/first", "x"}, {"sym", "d", tmp.toString()}, {"file", "d/escape", "x"}},
            {{"file", "a/b/first", "x"}, {"sym", "a", tmp.toString()}, {"file", "a/b/escape", "x"}},
        };
        for (String[][] c : cases) {
            Path fresh = Files.createTempDirectory(tmp, "case");
            root = fresh;
            BerthException e = assertThrows(BerthException.class, () -> unpack(tar(c)), c[c.length - 1][1]);
            assertEquals(ErrorKind.PERMISSION_DENIED, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("malicious layer"), e.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("escape")));
        assertFalse(Files.exists(tmp.resolve("b")));
        assertFalse(Files.exists(tmp.getParent().resolve("escape")));
    }

    @Test
    void hardLinksShareTheInode() throws IOException {
        unpack(tar(new String[] {"file", "a", "data"}, new String[] {"link", "b", "a"}));
        assertEquals(Files.getAttribute(root.resolve("a"), "unix:ino"), Files.getAttribute(root.resolve("b"), "unix:ino"));
        assertEquals(2, Files.getAttribute(root.resolve("a"), "unix:nlink"));
    }

    private LayerUnpacker.Stats unpack(byte[] tar, LayerUnpacker.Limits limits) throws IOException {
        return LayerUnpacker.unpack(limits.bound(new ByteArrayInputStream(tar), "test layer"), root, "test layer", limits);
    }

    /** security.capability of cap_setuid+ep: binary, and not valid UTF-8 (0x80). */
    private static final byte[] CAP_SETUID = {1, 0, 0, 2, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    @Test
    void xattrValuesAreKeptByteForByte() throws IOException {
        byte[] binary = {0, 1, (byte) 0xff, (byte) 0xfe, (byte) 0x80, (byte) 0xc3, '=', '\n', 0};
        unpack(new RawTar().pax("SCHILY.xattr.security.capability", CAP_SETUID, "SCHILY.xattr.trusted.berth-test", binary)
                .file("bin/ping", "elf").bytes());
        assertArrayEquals(CAP_SETUID, Xattrs.get(root.resolve("bin/ping"), "security.capability").orElseThrow());
        assertArrayEquals(binary, Xattrs.get(root.resolve("bin/ping"), "trusted.berth-test").orElseThrow());
    }

    @Test
    void oversizedPaxHeadersAreRefusedBeforeTheyAreRead() {
        // The header claims 100 MiB of PAX records; refusing must not need them (they are not even there).
        byte[] tar = new RawTar().entry('x', "PaxHeaders/huge", 100L << 20, null, 0).bytes();
        BerthException e = assertThrows(BerthException.class, () -> unpack(tar));
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("1048576"), e.getMessage());
    }

    @Test
    void oversizedLongNamesAreRefused() {
        byte[] tar = new RawTar().entry('L', "././@LongLink", 8L << 20, null, 0).bytes();
        BerthException e = assertThrows(BerthException.class, () -> unpack(tar));
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
    }

    @Test
    void entryCountIsBounded() {
        RawTar t = new RawTar();
        for (int i = 0; i < 11; i++) {
            t.dir("d" + i + "/", 1000);
        }
        LayerUnpacker.Limits limits = LayerUnpacker.Limits.DEFAULT.withMaxEntries(10);
        BerthException e = assertThrows(BerthException.class, () -> unpack(t.bytes(), limits));
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("10 entries"), e.getMessage());
    }

    @Test
    void uncompressedSizeIsBounded() throws IOException {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(new RawTar().file("zeros", "0".repeat(1 << 20)).bytes());
        }
        LayerUnpacker.Limits limits = LayerUnpacker.Limits.DEFAULT.withMaxBytes(64 * 1024);
        BerthException e = assertThrows(BerthException.class,
                () -> unpack(LayerUnpacker.decompress(new ByteArrayInputStream(gz.toByteArray())).readAllBytes(), limits));
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("65536"), e.getMessage());
    }

    @Test
    void directoryTimesAreSetAfterTheirContent() throws IOException {
        RawTar t = new RawTar().dir("a/", 1000);
        for (int i = 0; i < 3000; i++) {
            t.dir("a/d" + i + "/", 2000 + i);
        }
        t.file("a/d7/f", "x");
        LayerUnpacker.Stats s = unpack(t.bytes());
        assertEquals(1000L, Files.getLastModifiedTime(root.resolve("a"), LinkOption.NOFOLLOW_LINKS).toMillis() / 1000);
        assertEquals(2007L, Files.getLastModifiedTime(root.resolve("a/d7"), LinkOption.NOFOLLOW_LINKS).toMillis() / 1000);
        assertEquals(3002, s.entries());
        assertEquals(3002, s.inodes());
    }
}
