package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Creates regular files and sets their owner, mode and times through the open descriptor: one path
 * lookup per file (the exclusive create) instead of one per call, as unpacking thousands of small
 * files wants. One instance per thread (it reuses its native buffers); close it when done.
 *
 * <p>The create never follows a symlink and never opens an existing file (O_CREAT|O_EXCL|O_NOFOLLOW):
 * whatever is at the path, the call fails with EEXIST and the caller decides.
 */
public final class RegularFiles implements AutoCloseable {
    private static final int O_WRONLY = 01;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_NOFOLLOW = 0400000;
    private static final int O_CLOEXEC = 02000000;
    /** Paths up to this many bytes go through the reused buffer; longer ones through a temporary one. */
    private static final int PATH_BUFFER = 8192;

    private static final MethodHandle OPEN = Native.variadicFunction("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), 2);
    private static final MethodHandle WRITE = Native.function("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle FCHOWN = Native.function("fchown",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle FCHMOD = Native.function("fchmod",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle FUTIMENS = Native.function("futimens",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle CLOSE = Native.function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment state = Native.captureState(arena);
    private final MemorySegment path = arena.allocate(PATH_BUFFER);
    private final MemorySegment times = arena.allocate(ValueLayout.JAVA_LONG, 4);
    private final MemorySegment data;

    /** @param bufferBytes the most bytes one {@link #write} call passes to the kernel at once */
    public RegularFiles(int bufferBytes) {
        this.data = arena.allocate(Math.max(1, bufferBytes));
    }

    /**
     * Creates {@code file} (which must not exist, not even as a dangling symlink) with permission bits
     * {@code mode}, open for writing; returns its descriptor. EEXIST when anything is at the path.
     */
    public int createExclusive(Path file, int mode) {
        byte[] name = file.toString().getBytes(StandardCharsets.UTF_8);
        try {
            int fd;
            int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
            if (name.length < PATH_BUFFER) {
                MemorySegment.copy(name, 0, path, ValueLayout.JAVA_BYTE, 0, name.length);
                path.set(ValueLayout.JAVA_BYTE, name.length, (byte) 0);
                fd = (int) OPEN.invokeExact(state, path, flags, mode & 07777);
            } else {
                try (Arena once = Arena.ofConfined()) {
                    fd = (int) OPEN.invokeExact(state, once.allocateFrom(file.toString()), flags, mode & 07777);
                }
            }
            return Native.check(fd, state, "open", file.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Writes all of {@code buf[off..off+len)} to {@code fd}. */
    public void write(int fd, byte[] buf, int off, int len) {
        try {
            while (len > 0) {
                int chunk = (int) Math.min(len, data.byteSize());
                MemorySegment.copy(buf, off, data, ValueLayout.JAVA_BYTE, 0, chunk);
                long done = 0;
                while (done < chunk) {
                    long n = (long) WRITE.invokeExact(state, fd, data.asSlice(done), (long) chunk - done);
                    if (n < 0 && Native.errno(state) == Errno.EINTR) {
                        continue;
                    }
                    Native.check(n, state, "write", "fd " + fd);
                    done += n;
                }
                off += chunk;
                len -= chunk;
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Sets the owner and then all 12 mode bits of the open file (chown clears setuid, setgid and
     * security.capability: set xattrs after this).
     */
    public void setOwnerAndMode(int fd, int uid, int gid, int mode) {
        try {
            Native.check((int) FCHOWN.invokeExact(state, fd, uid, gid), state, "fchown", "fd " + fd);
            Native.check((int) FCHMOD.invokeExact(state, fd, mode & 07777), state, "fchmod", "fd " + fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Sets the access and modification times (nanoseconds since the epoch) of the open file: last, after any write. */
    public void setTimes(int fd, long mtimeNanos) {
        try {
            long sec = Math.floorDiv(mtimeNanos, 1_000_000_000L);
            long nsec = Math.floorMod(mtimeNanos, 1_000_000_000L);
            times.setAtIndex(ValueLayout.JAVA_LONG, 0, sec);
            times.setAtIndex(ValueLayout.JAVA_LONG, 1, nsec);
            times.setAtIndex(ValueLayout.JAVA_LONG, 2, sec);
            times.setAtIndex(ValueLayout.JAVA_LONG, 3, nsec);
            Native.check((int) FUTIMENS.invokeExact(state, fd, times), state, "futimens", "fd " + fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Closes a descriptor from {@link #createExclusive}; reports a failed close (a lost write). */
    public void close(int fd) {
        try {
            Native.check((int) CLOSE.invokeExact(state, fd), state, "close", "fd " + fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
