package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/** mount(2) and umount2(2). See man 2 mount for the flags. */
public final class Mounts {
    public static final long MS_RDONLY = 1;
    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    public static final long MS_NOEXEC = 8;
    public static final long MS_REMOUNT = 32;
    public static final long MS_BIND = 4096;
    public static final long MS_MOVE = 8192;
    public static final long MS_REC = 16384;
    public static final long MS_PRIVATE = 1 << 18;
    public static final long MS_SLAVE = 1 << 19;
    public static final long MS_SHARED = 1 << 20;

    public static final int MNT_DETACH = 2;
    public static final int UMOUNT_NOFOLLOW = 8;

    private static final MethodHandle MOUNT = Native.function("mount", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    private static final MethodHandle UMOUNT2 = Native.function("umount2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    /** mount_setattr(2); looked up on first use, as libc before 2.36 lacks the wrapper. */
    private static final class SetattrHandle {
        static final MethodHandle HANDLE = lookup();

        private static MethodHandle lookup() {
            try {
                return Native.function("mount_setattr", FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG));
            } catch (UnsatisfiedLinkError e) {
                return null;
            }
        }
    }

    private Mounts() {}

    /**
     * Whether the kernel has mount_setattr(2) (Linux 5.12), which recursive read-only mounts
     * ({@code rro}) need. Probed with an argument the kernel must reject: a missing system call says
     * ENOSYS, a present one rejects the zero-sized attribute with EINVAL (or the fd with EBADF).
     */
    public static boolean mountSetattrSupported() {
        if (SetattrHandle.HANDLE == null) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) SetattrHandle.HANDLE.invokeExact(st, -1, arena.allocateFrom(""), 0, MemorySegment.NULL, 0L);
            return r == 0 || Native.errno(st) != Errno.ENOSYS;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** mount(source, target, fstype, flags, data); null strings are passed as NULL. */
    public static void mount(String source, Path target, String fstype, long flags, String data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) MOUNT.invokeExact(st, cstr(arena, source), arena.allocateFrom(target.toString()),
                    cstr(arena, fstype), flags, cstr(arena, data));
            Native.check(r, st, "mount", (fstype == null ? "" : fstype + " ") + source + " on " + target);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Bind-mounts {@code source} on {@code target}. */
    public static void bind(Path source, Path target) {
        mount(source.toString(), target, null, MS_BIND, null);
    }

    public static void unmount(Path target, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) UMOUNT2.invokeExact(st, arena.allocateFrom(target.toString()), flags);
            Native.check(r, st, "umount2", target.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Unmounts {@code target}, treating "not mounted" and "gone" as done (teardown is repeatable). */
    public static void ensureUnmounted(Path target) {
        try {
            unmount(target, UMOUNT_NOFOLLOW);
        } catch (LinuxException e) {
            if (e.errno() != Errno.EINVAL && e.errno() != Errno.ENOENT) {
                throw e;
            }
        }
    }

    private static MemorySegment cstr(Arena arena, String s) {
        return s == null ? MemorySegment.NULL : arena.allocateFrom(s);
    }
}
