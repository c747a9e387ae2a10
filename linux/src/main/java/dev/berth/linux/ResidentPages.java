package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Gives back this process' resident pages of mapped files ({@code madvise(MADV_PAGEOUT)}).
 *
 * <p>A JVM maps its class archives, its modules image and its libraries, and start-up touches most
 * of their pages once; the kernel keeps them resident (and counted in the process' PSS) until memory
 * runs short. Paging them out after start-up or a burst leaves resident only what the process
 * touches again. The advice never changes what the process reads: a clean page is dropped and read
 * back from its file at the next touch; a page the process wrote (a private copy) is anonymous
 * memory and stays, as there is no swap to send it to. The kernel leaves pages that another
 * process maps as well (a shared library) where they are. The cost is a read from the file for
 * each page touched again, once.
 */
public final class ResidentPages {
    /** MADV_RANDOM: no read-ahead around a fault in this mapping. */
    private static final int MADV_RANDOM = 1;
    /** MADV_PAGEOUT (Linux 5.4). */
    private static final int MADV_PAGEOUT = 21;

    private static final MethodHandle MADVISE = Native.function("madvise",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    private ResidentPages() {}

    /** One line of /proc/self/maps that maps a file. */
    public record FileMapping(long start, long end, String permissions, Path file) {
        public long length() {
            return end - start;
        }
    }

    /** This process' resident memory (VmRSS in /proc/self/status), bytes; -1 when it cannot be read. */
    public static long residentBytes() {
        try {
            return ProcStatus.ofSelf().bytes("VmRSS").orElse(-1);
        } catch (IOException | NumberFormatException e) {
            return -1; // only a log line misses its figure
        }
    }

    /** The file mappings of this process, from /proc/self/maps. */
    public static List<FileMapping> fileMappings() {
        try {
            return parse(Files.readAllLines(Path.of("/proc/self/maps")));
        } catch (IOException e) {
            throw new UncheckedIOException("read /proc/self/maps", e);
        }
    }

    /**
     * The file mappings among /proc/PID/maps lines ("start-end perms offset dev inode path"):
     * those whose path is absolute; not anonymous memory, the heap, stacks or [vdso].
     */
    static List<FileMapping> parse(List<String> lines) {
        List<FileMapping> out = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.trim().split("\\s+", 6);
            if (f.length < 6 || !f[5].startsWith("/") || f[5].endsWith(" (deleted)")) {
                continue;
            }
            int dash = f[0].indexOf('-');
            long start = Long.parseUnsignedLong(f[0], 0, dash, 16);
            long end = Long.parseUnsignedLong(f[0], dash + 1, f[0].length(), 16);
            out.add(new FileMapping(start, end, f[1], Path.of(f[5])));
        }
        return out;
    }

    /**
     * Advises the kernel to page out every file mapping that {@code which} accepts, and to read
     * their pages back one at a time (no read-ahead) from then on. Returns the
     * bytes of address space advised; a mapping the kernel cannot page out (locked, huge pages) is
     * skipped, and on a kernel without MADV_PAGEOUT nothing is done and 0 returned.
     */
    public static long pageOut(Predicate<FileMapping> which) {
        long advised = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            for (FileMapping m : fileMappings()) {
                if (!which.test(m)) {
                    continue;
                }
                // MADV_RANDOM first: a page touched again is read back alone, not with the
                // read-ahead window around it, so only what the process uses becomes resident
                // again (with read-ahead, kubelet's polls alone brought back most of it).
                int r = (int) MADVISE.invokeExact(st, m.start(), m.length(), MADV_RANDOM);
                if (r == 0) {
                    r = (int) MADVISE.invokeExact(st, m.start(), m.length(), MADV_PAGEOUT);
                }
                if (r == 0) {
                    advised += m.length();
                } else if (Native.errno(st) != Errno.EINVAL && Native.errno(st) != Errno.ENOMEM) {
                    // EINVAL: a locked, huge-page or device mapping, or a kernel before 5.4;
                    // ENOMEM: the mapping went away since the maps were read (a library unloaded)
                    Native.check(r, st, "madvise(MADV_PAGEOUT)", m.file().toString());
                }
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        return advised;
    }
}
