package dev.berth.linux.ffm;

import dev.berth.linux.LinuxException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Downcalls into libc with errno captured per call (never a shared static errno buffer: the
 * daemon makes system calls from many threads at once).
 *
 * <p>Every handle made by {@link #function} takes a capture segment as its first argument; make one
 * with {@link #captureState(Arena)} and read it with {@link #errno(MemorySegment)} right after a
 * failed call. Set {@code -Dberth.linux.trace=true} to log every checked call to stderr.
 */
public final class Native {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final boolean TRACE = Boolean.getBoolean("berth.linux.trace");
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LIBC.find("strerror").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private Native() {}

    /** A libc function whose errno is captured; the first argument of the handle is the capture segment. */
    public static MethodHandle function(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, Linker.Option.captureCallState("errno"));
    }

    /**
     * A variadic libc function (fcntl, ioctl) whose errno is captured: arguments from index
     * {@code firstVariadic} on (not counting the capture segment) are passed as variadic ones.
     */
    public static MethodHandle variadicFunction(String name, FunctionDescriptor descriptor, int firstVariadic) {
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, Linker.Option.firstVariadicArg(firstVariadic),
                Linker.Option.captureCallState("errno"));
    }

    /** A libc function that does not report through errno. */
    public static MethodHandle plainFunction(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    public static MemorySegment captureState(Arena arena) {
        return arena.allocate(CAPTURE);
    }

    public static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(512).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /** Throws a {@link LinuxException} when {@code result} is negative; otherwise returns it. */
    public static int check(int result, MemorySegment state, String call, String subject) {
        if (TRACE) {
            System.err.println("berth.linux: " + call + "(" + subject + ") = " + result
                    + (result < 0 ? " errno " + errno(state) : ""));
        }
        if (result < 0) {
            int errno = errno(state);
            throw new LinuxException(call, subject, errno, strerror(errno));
        }
        return result;
    }

    public static long check(long result, MemorySegment state, String call, String subject) {
        check(result < 0 ? -1 : 0, state, call, subject);
        return result;
    }

    /** Wraps a Throwable from invokeExact, which only ever throws what the downcall threw. */
    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
