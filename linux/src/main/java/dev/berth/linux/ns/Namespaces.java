package dev.berth.linux.ns;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * unshare(2), setns(2), sethostname(2): namespace calls. They act on the calling OS thread only,
 * so call them from a {@link NamespaceThread}, never from a pooled or virtual thread.
 */
public final class Namespaces {
    public static final int CLONE_NEWNS = 0x00020000;
    public static final int CLONE_NEWCGROUP = 0x02000000;
    public static final int CLONE_NEWUTS = 0x04000000;
    public static final int CLONE_NEWIPC = 0x08000000;
    public static final int CLONE_NEWUSER = 0x10000000;
    public static final int CLONE_NEWPID = 0x20000000;
    public static final int CLONE_NEWNET = 0x40000000;

    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;

    private static final MethodHandle UNSHARE = Native.function("unshare",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SETNS = Native.function("setns",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SETHOSTNAME = Native.function("sethostname",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle OPEN = Native.function("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = Native.function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private Namespaces() {}

    /** unshare(flags) for the calling thread. */
    public static void unshare(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) UNSHARE.invokeExact(st, flags);
            Native.check(r, st, "unshare", "0x" + Integer.toHexString(flags));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Moves the calling thread into the namespace pinned at {@code path} (nstype 0: any kind). */
    public static void join(Path path, int nstype) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int fd = (int) OPEN.invokeExact(st, arena.allocateFrom(path.toString()), O_RDONLY | O_CLOEXEC);
            Native.check(fd, st, "open", path.toString());
            try {
                int r = (int) SETNS.invokeExact(st, fd, nstype);
                Native.check(r, st, "setns", path.toString());
            } finally {
                int ignored = (int) CLOSE.invokeExact(st, fd);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** sethostname(2) in the calling thread's UTS namespace. */
    public static void setHostname(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            MemorySegment buf = arena.allocate(bytes.length + 1L);
            buf.copyFrom(MemorySegment.ofArray(bytes));
            int r = (int) SETHOSTNAME.invokeExact(st, buf, (long) bytes.length);
            Native.check(r, st, "sethostname", name);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
