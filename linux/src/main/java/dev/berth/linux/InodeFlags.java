package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * Inode flags ({@code chattr}/{@code lsattr}, the FS_IOC_GETFLAGS and FS_IOC_SETFLAGS ioctls).
 *
 * <p>berth sets one: the top-of-hierarchy flag ({@code chattr +T}) on directories whose children are
 * independent trees (one per image layer). ext2/3/4's Orlov allocator then spreads those children
 * over the file system's block groups instead of packing each next to its siblings: layers unpacked
 * at once do not share a group's allocation locks, and a new layer does not land where a removed
 * layer's inodes were just freed (ext4 without a journal skips inodes freed in the last minutes, and
 * scans past each of them again for every file it creates there).
 */
public final class InodeFlags {
    /** FS_TOPDIR_FL: the top of a directory hierarchy, for the Orlov block allocator. */
    public static final int TOP_DIRECTORY = 0x00020000;

    private static final long FS_IOC_GETFLAGS = 0x80086601L;
    private static final long FS_IOC_SETFLAGS = 0x40086602L;
    private static final int O_RDONLY = 0;
    private static final int O_DIRECTORY = 0200000;
    private static final int O_NOFOLLOW = 0400000;
    private static final int O_CLOEXEC = 02000000;
    /** ENOTTY, EOPNOTSUPP, EINVAL: a file system without inode flags (tmpfs, overlay, xfs for this one). */
    private static final int ENOTTY = 25;
    private static final int EOPNOTSUPP = 95;
    private static final int EINVAL = 22;

    private static final MethodHandle OPEN = Native.variadicFunction("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), 2);
    private static final MethodHandle CLOSE = Native.function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle IOCTL = Native.variadicFunction("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), 2);

    private InodeFlags() {}

    /** The flags of a directory (not following a symlink); -1 when its file system has none. */
    public static int get(Path dir) {
        return withDirectory(dir, (fd, flags, st) -> {
            int r = (int) IOCTL.invokeExact(st, fd, FS_IOC_GETFLAGS, flags);
            if (r < 0 && unsupported(Native.errno(st))) {
                return -1;
            }
            Native.check(r, st, "ioctl(FS_IOC_GETFLAGS)", dir.toString());
            return flags.get(ValueLayout.JAVA_INT, 0);
        });
    }

    /**
     * Adds {@code flag} to a directory's flags (not following a symlink). Returns false, changing
     * nothing, when its file system has no inode flags or does not take this one.
     */
    public static boolean add(Path dir, int flag) {
        return withDirectory(dir, (fd, flags, st) -> {
            int r = (int) IOCTL.invokeExact(st, fd, FS_IOC_GETFLAGS, flags);
            if (r < 0 && unsupported(Native.errno(st))) {
                return 0;
            }
            Native.check(r, st, "ioctl(FS_IOC_GETFLAGS)", dir.toString());
            int old = flags.get(ValueLayout.JAVA_INT, 0);
            if ((old & flag) == flag) {
                return 1;
            }
            flags.set(ValueLayout.JAVA_INT, 0, old | flag);
            r = (int) IOCTL.invokeExact(st, fd, FS_IOC_SETFLAGS, flags);
            if (r < 0 && unsupported(Native.errno(st))) {
                return 0;
            }
            Native.check(r, st, "ioctl(FS_IOC_SETFLAGS)", dir.toString());
            return 1;
        }) == 1;
    }

    private static boolean unsupported(int errno) {
        return errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL;
    }

    @FunctionalInterface
    private interface OnFd {
        int apply(int fd, MemorySegment flags, MemorySegment state) throws Throwable;
    }

    private static int withDirectory(Path dir, OnFd body) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int fd = Native.check((int) OPEN.invokeExact(st, arena.allocateFrom(dir.toString()),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0), st, "open", dir.toString());
            try {
                // The ioctls are declared with a long but the kernel reads and writes an int: 8 zeroed bytes hold either.
                return body.apply(fd, arena.allocate(ValueLayout.JAVA_LONG), st);
            } finally {
                int ignored = (int) CLOSE.invokeExact(st, fd);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
