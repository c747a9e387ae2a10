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
 * Unix sockets Java's own channels cannot do: receiving a descriptor (SCM_RIGHTS, how runc hands
 * over a terminal master on its {@code --console-socket}) and SOCK_SEQPACKET (conmon's attach
 * socket). Descriptors are close-on-exec; the caller closes them with {@link Processes#close}.
 */
public final class UnixSockets {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_SEQPACKET = 5;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int SHUT_WR = 1;
    private static final int O_PATH = 0x200000;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SUN_PATH_MAX = 108;

    private static final MethodHandle SOCKET = Native.function("socket",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle BIND = Native.function("bind",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle LISTEN = Native.function("listen",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle ACCEPT4 = Native.function("accept4",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_INT));
    private static final MethodHandle CONNECT = Native.function("connect",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle RECVMSG = Native.function("recvmsg",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle SENDMSG = Native.function("sendmsg",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle SHUTDOWN = Native.function("shutdown",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle OPEN = Native.function("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = Native.function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private UnixSockets() {}

    /** A SOCK_STREAM socket listening at {@code path} (a stale file there is replaced). */
    public static int listen(Path path) {
        try {
            java.nio.file.Files.deleteIfExists(path);
        } catch (java.io.IOException e) {
            throw new LinuxException("unlink", path.toString(), Errno.EACCES, e.getMessage());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int fd = Native.check((int) SOCKET.invokeExact(st, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), st, "socket",
                    path.toString());
            try {
                MemorySegment addr = address(arena, path.toString());
                Native.check((int) BIND.invokeExact(st, fd, addr, (int) addr.byteSize()), st, "bind", path.toString());
                Native.check((int) LISTEN.invokeExact(st, fd, 4), st, "listen", path.toString());
                return fd;
            } catch (RuntimeException e) {
                int ignored = (int) CLOSE.invokeExact(st, fd);
                throw e;
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** accept(2) on a listening socket (blocks; poll it first). */
    public static int accept(int listenFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int fd;
            do {
                fd = (int) ACCEPT4.invokeExact(st, listenFd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
            } while (fd < 0 && Native.errno(st) == Errno.EINTR);
            return Native.check(fd, st, "accept4", "fd " + listenFd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** A descriptor the peer sent: the first SCM_RIGHTS descriptor of one message, or -1 at end of file. */
    public static int receiveFd(int socketFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment data = arena.allocate(4096);
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(ValueLayout.ADDRESS, 0, data);
            iov.set(ValueLayout.JAVA_LONG, 8, data.byteSize());
            MemorySegment control = arena.allocate(64, 8);
            MemorySegment msg = arena.allocate(56, 8);
            msg.set(ValueLayout.ADDRESS, 16, iov);
            msg.set(ValueLayout.JAVA_LONG, 24, 1L);
            msg.set(ValueLayout.ADDRESS, 32, control);
            msg.set(ValueLayout.JAVA_LONG, 40, control.byteSize());
            long n;
            do {
                n = (long) RECVMSG.invokeExact(st, socketFd, msg, MSG_CMSG_CLOEXEC);
            } while (n < 0 && Native.errno(st) == Errno.EINTR);
            Native.check(n, st, "recvmsg", "fd " + socketFd);
            long controlLen = msg.get(ValueLayout.JAVA_LONG, 40);
            // struct cmsghdr { size_t len; int level; int type; data } (x86_64/aarch64)
            if (controlLen >= 20 && control.get(ValueLayout.JAVA_INT, 8) == SOL_SOCKET
                    && control.get(ValueLayout.JAVA_INT, 12) == SCM_RIGHTS) {
                return control.get(ValueLayout.JAVA_INT, 16);
            }
            if (n == 0) {
                return -1;
            }
            throw new LinuxException("recvmsg", "fd " + socketFd, Errno.EINVAL, "message carried no descriptor");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Sends {@code fd} over a connected unix socket (SCM_RIGHTS) with a short text, as runc does. */
    public static void sendFd(int socketFd, int fd, String text) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            MemorySegment data = arena.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, data, ValueLayout.JAVA_BYTE, 0, bytes.length);
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(ValueLayout.ADDRESS, 0, data);
            iov.set(ValueLayout.JAVA_LONG, 8, Math.max(1, bytes.length));
            MemorySegment control = arena.allocate(24, 8);
            control.set(ValueLayout.JAVA_LONG, 0, 20L);
            control.set(ValueLayout.JAVA_INT, 8, SOL_SOCKET);
            control.set(ValueLayout.JAVA_INT, 12, SCM_RIGHTS);
            control.set(ValueLayout.JAVA_INT, 16, fd);
            MemorySegment msg = arena.allocate(56, 8);
            msg.set(ValueLayout.ADDRESS, 16, iov);
            msg.set(ValueLayout.JAVA_LONG, 24, 1L);
            msg.set(ValueLayout.ADDRESS, 32, control);
            msg.set(ValueLayout.JAVA_LONG, 40, 24L);
            long n = (long) SENDMSG.invokeExact(st, socketFd, msg, 0);
            Native.check(n, st, "sendmsg", "fd " + socketFd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** A SOCK_STREAM connection to {@code path}. */
    public static int connectStream(Path path) {
        return connect(path.getParent(), path.getFileName().toString(), SOCK_STREAM);
    }

    /**
     * A SOCK_SEQPACKET connection to the socket {@code name} in {@code dir}. The directory is
     * reached through /proc/self/fd, so its path may be longer than a socket address allows.
     */
    public static int connectSeqpacket(Path dir, String name) {
        return connect(dir, name, SOCK_SEQPACKET);
    }

    private static int connect(Path dir, String name, int type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int dirFd = Native.check((int) OPEN.invokeExact(st, arena.allocateFrom(dir.toString()), O_PATH | O_CLOEXEC),
                    st, "open", dir.toString());
            try {
                int fd = Native.check((int) SOCKET.invokeExact(st, AF_UNIX, type | SOCK_CLOEXEC, 0), st, "socket",
                        dir.resolve(name).toString());
                MemorySegment addr = address(arena, "/proc/self/fd/" + dirFd + "/" + name);
                int r;
                do {
                    r = (int) CONNECT.invokeExact(st, fd, addr, (int) addr.byteSize());
                } while (r < 0 && Native.errno(st) == Errno.EINTR);
                if (r < 0) {
                    int errno = Native.errno(st);
                    int ignored = (int) CLOSE.invokeExact(st, fd);
                    throw new LinuxException("connect", dir.resolve(name).toString(), errno, Native.strerror(errno));
                }
                return fd;
            } finally {
                int ignored = (int) CLOSE.invokeExact(st, dirFd);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** shutdown(fd, SHUT_WR): the peer reads end of file; reading on goes on. */
    public static void shutdownWrite(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) SHUTDOWN.invokeExact(st, fd, SHUT_WR);
            if (r < 0 && Native.errno(st) != 107) { // ENOTCONN: the peer is gone already
                Native.check(r, st, "shutdown", "fd " + fd);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static MemorySegment address(Arena arena, String path) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= SUN_PATH_MAX) {
            throw new LinuxException("bind/connect", path, Errno.EINVAL, "socket path longer than "
                    + (SUN_PATH_MAX - 1) + " bytes");
        }
        MemorySegment addr = arena.allocate(2 + SUN_PATH_MAX, 2);
        addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(p, 0, addr, ValueLayout.JAVA_BYTE, 2, p.length);
        return addr;
    }
}
