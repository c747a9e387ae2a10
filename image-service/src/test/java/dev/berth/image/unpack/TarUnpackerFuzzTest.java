package dev.berth.image.unpack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.testing.Fuzz;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the layer unpacker with generated and mutated tar streams: names with "..", absolute paths,
 * over-long names and components, symlinks and hard links aimed outside and written through,
 * whiteouts and opaque markers, devices, unknown entry types, hostile pax records (huge times,
 * negative sizes, binary xattrs, overlay xattrs), lying size fields, flipped and truncated bytes,
 * gzip around it all. Properties: it unpacks or fails with berth's own errors (a
 * {@link BerthException} of a content kind naming the layer, or {@link MalformedTarException}),
 * never INTERNAL or a stray exception; and nothing is written outside the layer directory (a canary
 * tree beside it stays as it was). Needs root (mknod, chown), as {@link LayerUnpackerTest}.
 */
class TarUnpackerFuzzTest {
    /** Kinds a hostile layer may produce; INTERNAL (a bug or an unexplained host failure) is not one. */
    private static final Set<ErrorKind> CONTENT_ERRORS = Set.of(ErrorKind.PERMISSION_DENIED,
            ErrorKind.RESOURCE_EXHAUSTED, ErrorKind.FAILED_PRECONDITION, ErrorKind.INVALID_ARGUMENT);
    /** Small bounds so that a generated bomb is cut quickly. */
    private static final LayerUnpacker.Limits LIMITS = new LayerUnpacker.Limits(4L << 20, 200, 500, 64 * 1024, 4096);
    private static final Duration BUDGET = Duration.ofSeconds(15);

    private Path base;
    private Path outside;
    private int layers;

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "unpacking keeps owners and devices: root only");
        base = Files.createTempDirectory("berth-tar-fuzz-");
        outside = Files.createDirectory(base.resolve("outside"));
        Files.writeString(outside.resolve("canary"), "keep");
    }

    @AfterEach
    void tearDown() throws IOException {
        if (base != null) {
            deleteTree(base);
        }
    }

    @Test
    void generatedLayersUnpackOrFailCleanly() {
        int n = Fuzz.run("generated layers", 1500, BUDGET, r -> check(layer(r)));
        assertTrue(n > 50, "too few cases ran in the budget: " + n);
    }

    @Test
    void mutatedLayersUnpackOrFailCleanly() {
        int n = Fuzz.run("mutated layers", 1500, BUDGET, r -> check(mutate(r, layer(r))));
        assertTrue(n > 50, "too few cases ran in the budget: " + n);
    }

    @Test
    void compressedMutatedLayersUnpackOrFailCleanly() {
        int n = Fuzz.run("compressed layers", 500, BUDGET, r -> {
            ByteArrayOutputStream gz = new ByteArrayOutputStream();
            try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
                out.write(layer(r));
            }
            check(mutate(r, gz.toByteArray()), true);
        });
        assertTrue(n > 20, "too few cases ran in the budget: " + n);
    }

    private void check(byte[] tar) throws IOException {
        check(tar, false);
    }

    private void check(byte[] blob, boolean compressed) throws IOException {
        Path layer = Files.createDirectory(base.resolve("layer" + layers++));
        try {
            var in = new ByteArrayInputStream(blob);
            LayerUnpacker.unpack(LIMITS.bound(compressed ? LayerUnpacker.decompress(in) : in, "fuzz layer"), layer,
                    "fuzz layer", LIMITS);
        } catch (BerthException e) {
            assertTrue(CONTENT_ERRORS.contains(e.kind()), () -> "unexpected kind " + e.kind() + ": " + e.getMessage());
            assertTrue(e.getMessage().startsWith("fuzz layer"), () -> "the error names the layer: " + e.getMessage());
        } catch (MalformedTarException expected) {
            // a clear "not a (well-formed) tar archive" reason
        } catch (java.util.zip.ZipException | java.io.EOFException expected) {
            assertTrue(compressed, "a decompression error from an uncompressed layer: " + expected);
        } catch (IOException | RuntimeException e) {
            fail("unexpected " + e + " for a hostile layer", e);
        } finally {
            assertNothingOutside(layer);
            deleteTree(layer);
        }
    }

    /** base holds only outside/ (with its canary, unchanged) and the layer directories. */
    private void assertNothingOutside(Path layer) throws IOException {
        try (Stream<Path> s = Files.list(base)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                assertTrue(n.equals("outside") || n.startsWith("layer"), "written beside the layer: " + p);
            }
        }
        try (Stream<Path> s = Files.list(outside)) {
            assertEquals(List.of(outside.resolve("canary")), s.toList());
        }
        assertEquals("keep", Files.readString(outside.resolve("canary")));
        assertTrue(Files.isDirectory(layer, LinkOption.NOFOLLOW_LINKS), "the layer directory itself was replaced");
    }

    // ---- generators ----

    /** A path component that probes containment, overlay markers or name limits. */
    private static String component(SplittableRandom r) {
        return switch (r.nextInt(6)) {
            case 0 -> Fuzz.pick(r, "a", "b", "etc", "..", ".", "", ".wh.a", ".wh..wh..opq", ".wh.", ".wh...", "x\u00e9",
                    "a\u0000b");
            case 1 -> Fuzz.letters(r, 200, 300); // above NAME_MAX (255) now and then
            default -> Fuzz.letters(r, 1, 3);
        };
    }

    private String name(SplittableRandom r) {
        List<String> parts = new ArrayList<>();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            parts.add(component(r));
        }
        String rel = String.join("/", parts);
        return switch (r.nextInt(10)) {
            case 0 -> "/" + rel;
            case 1 -> rel + "/";
            case 2 -> outside + "/pwned";
            case 3 -> "../../../../../../../.." + outside + "/pwned";
            case 4 -> "d/" + rel; // under the directory the symlink cases plant
            default -> rel;
        };
    }

    private String linkTarget(SplittableRandom r) {
        return r.nextInt(3) == 0 ? Fuzz.pick(r, "/", "..", "../..", outside.toString(), outside + "/canary")
                : name(r);
    }

    private static byte[] paxValue(SplittableRandom r) {
        if (r.nextBoolean()) {
            return Fuzz.bytes(r, 64);
        }
        return Fuzz.pick(r, "1e999999999", "-1e-999999999", "99999999999999999999", "-5", "", "abc", "1.5",
                "1700000000.123456789", "\u0000", "a/../../b", "/abs", "x".repeat(5000)).getBytes(StandardCharsets.UTF_8);
    }

    private static final List<String> PAX_KEYS = List.of("path", "linkpath", "size", "uid", "gid", "mtime",
            "SCHILY.xattr.user.a", "SCHILY.xattr.trusted.overlay.opaque", "SCHILY.xattr.security.capability",
            "SCHILY.xattr.", "SCHILY.xattr.bogus", "GNU.sparse.size", "comment", "=", "");

    private byte[] layer(SplittableRandom r) {
        RawTar t = new RawTar();
        if (r.nextInt(3) == 0) {
            t.link('2', "d", Fuzz.pick(r, outside.toString(), "../../..", "/")); // a symlink later entries may try
        }
        int n = 1 + r.nextInt(12);
        for (int i = 0; i < n; i++) {
            switch (r.nextInt(10)) {
                case 0, 1 -> t.file(name(r), Fuzz.anyString(r, 40));
                case 2 -> t.dir(name(r), r.nextLong(0, 1L << 33));
                case 3 -> t.link('2', name(r), linkTarget(r));
                case 4 -> t.link('1', name(r), linkTarget(r));
                case 5 -> t.entry(Fuzz.pick(r, '3', '4', '6', 'S', 'V', 'Z', '7', '\0', 'g'), name(r), 0, null, 0);
                case 6 -> {
                    int records = 1 + r.nextInt(3);
                    Object[] kv = new Object[records * 2];
                    for (int k = 0; k < records; k++) {
                        kv[2 * k] = Fuzz.pick(r, PAX_KEYS);
                        kv[2 * k + 1] = paxValue(r);
                    }
                    t.pax(kv);
                    t.file(Fuzz.letters(r, 1, 3), "p"); // the entry the pax header applies to
                }
                case 7 -> t.pax("path", name(r).getBytes(StandardCharsets.UTF_8)).file("short", "long name");
                case 8 -> t.entry(Fuzz.pick(r, 'x', 'L', 'K'), "././@LongLink", r.nextLong(0, 1L << 36), null, 0);
                default -> t.file(Fuzz.pick(r, "a", "b", "d/x", "etc/.wh.a", "a/.wh..wh..opq"), "x");
            }
        }
        return t.bytes();
    }

    private static byte[] mutate(SplittableRandom r, byte[] tar) {
        byte[] m = tar.clone();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n && m.length > 0; i++) {
            int at = r.nextInt(m.length);
            switch (r.nextInt(3)) {
                case 0 -> m[at] = (byte) r.nextInt(256);
                case 1 -> m = java.util.Arrays.copyOf(m, at);
                default -> {
                    // a header whose size field lies about its data (checksum fixed, so it is believed)
                    int header = at / 512 * 512;
                    if (header + 512 <= m.length) {
                        byte[] size = String.format("%011o", r.nextLong(0, 1L << 33)).getBytes(StandardCharsets.US_ASCII);
                        System.arraycopy(size, 0, m, header + 124, 11);
                        fixChecksum(m, header);
                    }
                }
            }
        }
        return m;
    }

    private static void fixChecksum(byte[] m, int header) {
        for (int i = header + 148; i < header + 156; i++) {
            m[i] = ' ';
        }
        long sum = 0;
        for (int i = header; i < header + 512; i++) {
            sum += m[i] & 0xff;
        }
        byte[] cs = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(cs, 0, m, header + 148, 8);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(p)) {
            s.forEach(all::add);
        }
        all.sort(Comparator.reverseOrder());
        for (Path q : all) {
            Files.deleteIfExists(q);
        }
    }
}
