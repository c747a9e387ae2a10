package dev.berth.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ResidentPagesTest {
    private static final int SIZE = 8 << 20;
    private static final Pattern HEADER = Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    @Test
    void parsesOnlyFileMappings() {
        List<ResidentPages.FileMapping> m = ResidentPages.parse(List.of(
                "7f001000-7fd95000 rw-p 00001000 fe:00 328742    /usr/lib/jvm/lib/server/classes.jsa",
                "55d0c000-55d2d000 rw-p 00000000 00:00 0         [heap]",
                "7f3ba6a00000-7f3ba6ce3000 r--p 00000000 fe:00 328747   /opt/a dir/libjvm.so",
                "7f3ba8200000-7f3ba8300000 rw-p 00000000 00:00 0 ",
                "7f3ba8400000-7f3ba8401000 r--p 00000000 fe:00 12   /tmp/gone (deleted)",
                "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0   [vsyscall]"));
        assertEquals(2, m.size(), m.toString());
        assertEquals(new ResidentPages.FileMapping(0x7f001000L, 0x7fd95000L, "rw-p",
                Path.of("/usr/lib/jvm/lib/server/classes.jsa")), m.get(0));
        assertEquals(Path.of("/opt/a dir/libjvm.so"), m.get(1).file(), "a path with a space is kept whole");
        assertEquals(0x2e3000L, m.get(1).length());
    }

    /** Not on tmpfs: its pages are memory, which MADV_PAGEOUT cannot send anywhere without swap. */
    @Test
    void pagesOutATouchedMappingAndItReadsTheSameAfter() throws IOException, InterruptedException {
        Path dir = Files.createDirectories(Path.of("target", "resident-pages-test"));
        assumeFalse(Files.getFileStore(dir).type().equals("tmpfs"), "the build directory is on tmpfs");
        Path file = dir.resolve("data").toAbsolutePath();
        byte[] data = new byte[SIZE];
        new Random(7).nextBytes(data);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            ch.write(ByteBuffer.wrap(data));
            ch.force(true); // clean pages: a dirty file page is not reclaimed by madvise
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment map = ch.map(FileChannel.MapMode.READ_ONLY, 0, SIZE, arena);
                long sum = touch(map);
                long before = residentKiB(file);
                assertTrue(before >= (SIZE >> 10) * 9 / 10, "touched pages are resident: " + before + " KiB");

                long advised = ResidentPages.pageOut(m -> m.file().equals(file));
                long after = residentKiB(file);
                // The kernel may hold back a page written moments ago (seen at the daemon's first
                // trim, not here so far): the daemon pages out again at its next quiet check.
                for (int i = 0; i < 10 && after > before / 4; i++) {
                    Thread.sleep(5000);
                    ResidentPages.pageOut(m -> m.file().equals(file));
                    after = residentKiB(file);
                }

                assertEquals(SIZE, advised);
                assertTrue(after <= before / 4, "paged out: " + before + " -> " + after + " KiB");
                assertEquals(sum, touch(map), "the mapping reads the same after");
                assertTrue(residentKiB(file) >= (SIZE >> 10) * 9 / 10, "touching brings the pages back");
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void readsItsOwnResidentSize() {
        long rss = ResidentPages.residentBytes();
        assertTrue(rss > 8L << 20 && rss < 64L << 30, "a JVM's resident size: " + rss);
    }

    @Test
    void leavesOtherMappingsAlone() {
        assertEquals(0, ResidentPages.pageOut(m -> false));
        assertTrue(ResidentPages.fileMappings().stream().anyMatch(m -> m.file().toString().contains("libjvm")),
                "this JVM maps libjvm.so");
    }

    /** Reads one long per page; returns their sum. */
    private static long touch(MemorySegment map) {
        long sum = 0;
        for (long off = 0; off < map.byteSize(); off += 4096) {
            sum += map.get(ValueLayout.JAVA_LONG_UNALIGNED, off);
        }
        return sum;
    }

    /** Rss of the mapping of {@code file} in /proc/self/smaps, KiB. */
    private static long residentKiB(Path file) throws IOException {
        boolean in = false;
        long rss = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (HEADER.matcher(line).lookingAt()) {
                in = line.endsWith(file.toString());
            } else if (in && line.startsWith("Rss:")) {
                rss += Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return rss;
    }
}
