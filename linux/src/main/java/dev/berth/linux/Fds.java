package dev.berth.linux;

import dev.berth.core.concurrent.NativeBlocking;
import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Non-blocking reads and writes on raw descriptors and poll(2): what relaying a process's stdio
 * needs. A relay waits in {@link #poll} on a platform thread and never blocks in read or write, so
 * it can stop at any moment (a background child holding a pipe open cannot pin it).
 */
public final class Fds {
    public static final short POLLIN = 0x1;
    public static final short POLLOUT = 0x4;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;

    /** {@link #read} and {@link #write}: nothing could be moved without blocking. */
    public static final int AGAIN = -1;

    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final int O_NONBLOCK = 0x800;
    private static final int EIO = 5;
    private static final int EWOULDBLOCK = Errno.EAGAIN;

    private static final MethodHandle FCNTL = Native.variadicFunction("fcntl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), 2);
    private static final MethodHandle READ = Native.function("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle WRITE = Native.function("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle POLL = Native.function("poll",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    private Fds() {}

    /** Sets O_NONBLOCK on the open file description of {@code fd}. */
    public static void setNonBlocking(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int flags = Native.check((int) FCNTL.invokeExact(st, fd, F_GETFL, 0), st, "fcntl(F_GETFL)", "fd " + fd);
            Native.check((int) FCNTL.invokeExact(st, fd, F_SETFL, flags | O_NONBLOCK), st, "fcntl(F_SETFL)", "fd " + fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** A close-on-exec duplicate of {@code fd} numbered {@code min} or higher. */
    public static int dupAtLeast(int fd, int min) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            return Native.check((int) FCNTL.invokeExact(st, fd, F_DUPFD_CLOEXEC, min), st, "fcntl(F_DUPFD_CLOEXEC)",
                    "fd " + fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Reads up to {@code len} bytes into {@code buf[off..]}: the count, 0 at end of file (also EIO,
     * which a terminal master reports once no process holds the slave), or {@link #AGAIN}.
     */
    public static int read(int fd, byte[] buf, int off, int len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment seg = arena.allocate(len);
            while (true) {
                long n = (long) READ.invokeExact(st, fd, seg, (long) len);
                if (n >= 0) {
                    MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, 0, buf, off, (int) n);
                    return (int) n;
                }
                int errno = Native.errno(st);
                if (errno == Errno.EINTR) {
                    continue;
                }
                if (errno == EWOULDBLOCK) {
                    return AGAIN;
                }
                if (errno == EIO) {
                    return 0;
                }
                Native.check(n, st, "read", "fd " + fd);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Writes up to {@code len} bytes from {@code buf[off..]}: the count or {@link #AGAIN}. */
    public static int write(int fd, byte[] buf, int off, int len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment seg = arena.allocate(Math.max(1, len));
            MemorySegment.copy(buf, off, seg, ValueLayout.JAVA_BYTE, 0, len);
            while (true) {
                long n = (long) WRITE.invokeExact(st, fd, seg, (long) len);
                if (n >= 0) {
                    return (int) n;
                }
                int errno = Native.errno(st);
                if (errno == Errno.EINTR) {
                    continue;
                }
                if (errno == EWOULDBLOCK) {
                    return AGAIN;
                }
                Native.check(n, st, "write", "fd " + fd);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * poll(2) on {@code fds} for {@code events}; fills {@code revents}. Returns how many descriptors
     * are ready, 0 at the timeout (-1 waits without end). EINTR counts as a timeout.
     */
    public static int poll(int[] fds, short[] events, short[] revents, int timeoutMillis) {
        if (timeoutMillis == 0 || !Thread.currentThread().isVirtual()) {
            return pollHere(fds, events, revents, timeoutMillis);
        }
        // A virtual thread: what is ready now is taken at once; a wait happens off its carrier
        // (a virtual thread in native code holds its carrier; see NativeBlocking).
        int ready = pollHere(fds, events, revents, 0);
        if (ready != 0) {
            return ready;
        }
        return NativeBlocking.unchecked(() -> pollHere(fds, events, revents, timeoutMillis));
    }

    private static int pollHere(int[] fds, short[] events, short[] revents, int timeoutMillis) {
        int n = fds.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment pfds = arena.allocate(8L * Math.max(1, n), 4);
            for (int i = 0; i < n; i++) {
                pfds.set(ValueLayout.JAVA_INT, 8L * i, fds[i]);
                pfds.set(ValueLayout.JAVA_SHORT, 8L * i + 4, events[i]);
                pfds.set(ValueLayout.JAVA_SHORT, 8L * i + 6, (short) 0);
            }
            int r = (int) POLL.invokeExact(st, pfds, (long) n, timeoutMillis);
            if (r < 0 && Native.errno(st) == Errno.EINTR) {
                r = 0;
            }
            Native.check(r, st, "poll", n + " descriptors");
            for (int i = 0; i < n; i++) {
                revents[i] = r == 0 ? 0 : pfds.get(ValueLayout.JAVA_SHORT, 8L * i + 6);
            }
            return r;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
