package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Extended attributes of a path itself (the l*xattr calls never follow a final symlink). Used for
 * overlayfs markers ({@code trusted.overlay.opaque}) and layer xattrs ({@code security.capability}, ...).
 */
public final class Xattrs {
    private static final MethodHandle LSETXATTR = Native.function("lsetxattr", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle LGETXATTR = Native.function("lgetxattr", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    private static final int ENODATA = 61;

    private Xattrs() {}

    public static void set(Path path, String name, byte[] value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment v = arena.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
            int r = (int) LSETXATTR.invokeExact(st, arena.allocateFrom(path.toString()), arena.allocateFrom(name), v,
                    (long) value.length, 0);
            Native.check(r, st, "lsetxattr", path + " " + name);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** The attribute's value, or empty when {@code path} does not have it (ENODATA). */
    public static Optional<byte[]> get(Path path, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment buf = arena.allocate(65536);
            long r = (long) LGETXATTR.invokeExact(st, arena.allocateFrom(path.toString()), arena.allocateFrom(name), buf,
                    65536L);
            if (r < 0 && Native.errno(st) == ENODATA) {
                return Optional.empty();
            }
            Native.check(r, st, "lgetxattr", path + " " + name);
            return Optional.of(buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
