package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * What unpacking a layer needs beyond java.nio: device nodes and fifos (mknod), ownership of
 * symlinks (lchown) and times of symlinks (utimensat with AT_SYMLINK_NOFOLLOW). None of these
 * follow a symlink at the final path component.
 */
public final class FileNodes {
    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;

    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;

    private static final MethodHandle MKNOD = Native.function("mknod", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle LCHOWN = Native.function("lchown", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle CHMOD = Native.function("chmod", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle UTIMENSAT = Native.function("utimensat", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private FileNodes() {}

    /** glibc's makedev(3). */
    public static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    /** mknod(2): {@code type} is one of S_IFCHR, S_IFBLK, S_IFIFO; {@code perm} the permission bits. */
    public static void mknod(Path path, int type, int perm, long major, long minor) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) MKNOD.invokeExact(st, arena.allocateFrom(path.toString()), type | (perm & 07777),
                    makedev(major, minor));
            Native.check(r, st, "mknod", path.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** lchown(2): owner of {@code path} itself, never of a symlink's target. */
    public static void lchown(Path path, int uid, int gid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) LCHOWN.invokeExact(st, arena.allocateFrom(path.toString()), uid, gid);
            Native.check(r, st, "lchown", path.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * chmod(2) with all 12 mode bits (setuid, setgid, sticky included). Unlike java.nio's setter it
     * never opens the file, so it works on fifos and device nodes. Follows a final symlink: call it
     * on paths known not to be one.
     */
    public static void chmod(Path path, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) CHMOD.invokeExact(st, arena.allocateFrom(path.toString()), mode & 07777);
            Native.check(r, st, "chmod", path.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Sets access and modification time of {@code path} itself (symlinks included), in nanoseconds since the epoch. */
    public static void setTimesNoFollow(Path path, long atimeNanos, long mtimeNanos) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment times = arena.allocate(ValueLayout.JAVA_LONG, 4);
            times.setAtIndex(ValueLayout.JAVA_LONG, 0, Math.floorDiv(atimeNanos, 1_000_000_000L));
            times.setAtIndex(ValueLayout.JAVA_LONG, 1, Math.floorMod(atimeNanos, 1_000_000_000L));
            times.setAtIndex(ValueLayout.JAVA_LONG, 2, Math.floorDiv(mtimeNanos, 1_000_000_000L));
            times.setAtIndex(ValueLayout.JAVA_LONG, 3, Math.floorMod(mtimeNanos, 1_000_000_000L));
            int r = (int) UTIMENSAT.invokeExact(st, AT_FDCWD, arena.allocateFrom(path.toString()), times,
                    AT_SYMLINK_NOFOLLOW);
            Native.check(r, st, "utimensat", path.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
