package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Pseudo-terminals: the window size of a terminal (TIOCSWINSZ on the master reaches the program on
 * the slave as SIGWINCH) and opening a new pair.
 */
public final class Terminals {
    private static final long TIOCGWINSZ = 0x5413;
    private static final long TIOCSWINSZ = 0x5414;
    private static final int O_RDWR = 2;
    private static final int O_NOCTTY = 0x100;
    private static final int O_CLOEXEC = 0x80000;

    private static final MethodHandle IOCTL = Native.variadicFunction("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), 2);
    private static final MethodHandle POSIX_OPENPT = Native.function("posix_openpt",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle UNLOCKPT = Native.function("unlockpt",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle PTSNAME_R = Native.plainFunction("ptsname_r",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    private Terminals() {}

    /** A terminal's size in character cells. */
    public record Size(int columns, int rows) {}

    /** A new pseudo-terminal: the master descriptor (close-on-exec) and the slave's path. */
    public record Pty(int master, String slavePath) {}

    public static Pty open() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int fd = Native.check((int) POSIX_OPENPT.invokeExact(st, O_RDWR | O_NOCTTY | O_CLOEXEC), st, "posix_openpt",
                    "/dev/ptmx");
            try {
                Native.check((int) UNLOCKPT.invokeExact(st, fd), st, "unlockpt", "fd " + fd);
                MemorySegment name = arena.allocate(128);
                int r = (int) PTSNAME_R.invokeExact(fd, name, 128L);
                if (r != 0) {
                    throw new LinuxException("ptsname_r", "fd " + fd, r, Native.strerror(r));
                }
                return new Pty(fd, name.getString(0));
            } catch (RuntimeException e) {
                Processes.close(fd);
                throw e;
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Sets the window size of the terminal {@code fd} (master or slave). */
    public static void setSize(int fd, Size size) {
        if (size.columns() < 0 || size.rows() < 0 || size.columns() > 0xffff || size.rows() > 0xffff) {
            throw new IllegalArgumentException("terminal size out of range: " + size);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            // struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; }
            MemorySegment ws = arena.allocate(8, 2);
            ws.set(ValueLayout.JAVA_SHORT, 0, (short) size.rows());
            ws.set(ValueLayout.JAVA_SHORT, 2, (short) size.columns());
            Native.check((int) IOCTL.invokeExact(st, fd, TIOCSWINSZ, ws), st, "ioctl(TIOCSWINSZ)", "fd " + fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public static Size size(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment ws = arena.allocate(8, 2);
            Native.check((int) IOCTL.invokeExact(st, fd, TIOCGWINSZ, ws), st, "ioctl(TIOCGWINSZ)", "fd " + fd);
            return new Size(Short.toUnsignedInt(ws.get(ValueLayout.JAVA_SHORT, 2)),
                    Short.toUnsignedInt(ws.get(ValueLayout.JAVA_SHORT, 0)));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
