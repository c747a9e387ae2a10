package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * Writing to a FIFO without blocking: a monitor's control FIFO has no reader once the monitor is
 * gone, and a plain open(O_WRONLY) would then hang forever.
 */
public final class Fifos {
    private static final int O_WRONLY = 1;
    private static final int O_NONBLOCK = 0x800;
    private static final int O_CLOEXEC = 0x80000;
    private static final int ENXIO = 6;
    private static final MethodHandle OPEN = Native.function("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private Fifos() {}

    /** Writes {@code data} to the FIFO; false when nobody reads it (ENXIO) or it does not exist. */
    public static boolean writeIfRead(Path fifo, byte[] data) {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            fd = (int) OPEN.invokeExact(st, arena.allocateFrom(fifo.toString()), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0 && (Native.errno(st) == ENXIO || Native.errno(st) == Errno.ENOENT)) {
                return false;
            }
            Native.check(fd, st, "open", fifo.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
        try {
            Processes.write(fd, data);
            return true;
        } finally {
            Processes.close(fd);
        }
    }
}
