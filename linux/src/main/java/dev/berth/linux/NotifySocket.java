package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * One datagram to a unix datagram socket, as systemd's sd_notify(3) sends to {@code $NOTIFY_SOCKET}
 * (the JDK's DatagramChannel has no unix domain sockets). A name starting with '@' is in the
 * abstract namespace (the '@' becomes the leading NUL byte).
 */
public final class NotifySocket {
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int SUN_PATH_MAX = 108;

    private static final MethodHandle SOCKET = Native.function("socket",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SENDTO = Native.function("sendto", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = Native.function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private NotifySocket() {}

    /** Sends {@code message} as one datagram to {@code socketName}; throws LinuxException naming the call. */
    public static void send(String socketName, String message) {
        byte[] name = socketName.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length >= SUN_PATH_MAX || name[0] != '/' && name[0] != '@') {
            throw new LinuxException("sendto", socketName, Errno.EINVAL,
                    "not an absolute socket path or an @abstract name of at most " + (SUN_PATH_MAX - 1) + " bytes");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment addr = arena.allocate(2 + SUN_PATH_MAX, 2);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(name, 0, addr, ValueLayout.JAVA_BYTE, 2, name.length);
            boolean abstractName = name[0] == '@';
            if (abstractName) {
                addr.set(ValueLayout.JAVA_BYTE, 2, (byte) 0);
            }
            // an abstract name is exactly its bytes; a path ends at its NUL
            int addrLen = 2 + name.length + (abstractName ? 0 : 1);
            byte[] msg = message.getBytes(StandardCharsets.UTF_8);
            MemorySegment buf = arena.allocate(Math.max(1, msg.length));
            MemorySegment.copy(msg, 0, buf, ValueLayout.JAVA_BYTE, 0, msg.length);
            int fd = Native.check((int) SOCKET.invokeExact(st, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), st, "socket",
                    socketName);
            try {
                long r;
                do {
                    r = (long) SENDTO.invokeExact(st, fd, buf, (long) msg.length, MSG_NOSIGNAL, addr, addrLen);
                } while (r < 0 && Native.errno(st) == Errno.EINTR);
                Native.check(r, st, "sendto", socketName);
            } finally {
                int ignored = (int) CLOSE.invokeExact(st, fd);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
