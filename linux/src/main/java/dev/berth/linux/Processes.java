package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Process creation and control below what ProcessBuilder offers: posix_spawn with extra inherited
 * descriptors (conmon reads its sync pipe from fd 3) in a new session (so a monitor outlives the
 * daemon), kill(2), waitpid(2), pipes and bounded reads with a timeout.
 */
public final class Processes {
    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;
    public static final int WNOHANG = 1;
    private static final int O_CLOEXEC = 0x80000;
    private static final int O_RDWR = 2;
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    private static final short POSIX_SPAWN_SETSID = 0x80;
    private static final short POLLIN = 1;

    private static final ValueLayoutHolder L = new ValueLayoutHolder();
    private static final MethodHandle POSIX_SPAWN = Native.plainFunction("posix_spawn", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle FA_INIT = Native.plainFunction("posix_spawn_file_actions_init",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle FA_DESTROY = Native.plainFunction("posix_spawn_file_actions_destroy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle FA_DUP2 = Native.plainFunction("posix_spawn_file_actions_adddup2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle FA_OPEN = Native.plainFunction("posix_spawn_file_actions_addopen",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    /** glibc 2.34+: closes every descriptor from N up in the child (none of the daemon's fds leak). */
    private static final MethodHandle FA_CLOSEFROM = optional("posix_spawn_file_actions_addclosefrom_np",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle FA_CLOSE = Native.plainFunction("posix_spawn_file_actions_addclose",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle ATTR_INIT = Native.plainFunction("posix_spawnattr_init",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle ATTR_DESTROY = Native.plainFunction("posix_spawnattr_destroy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle ATTR_SETFLAGS = Native.plainFunction("posix_spawnattr_setflags",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_SHORT));
    private static final MethodHandle ATTR_SETSIGMASK = Native.plainFunction("posix_spawnattr_setsigmask",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle ATTR_SETSIGDEFAULT = Native.plainFunction("posix_spawnattr_setsigdefault",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle SIGEMPTYSET = Native.plainFunction("sigemptyset",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle SIGFILLSET = Native.plainFunction("sigfillset",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle KILL = Native.function("kill",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle WAITPID = Native.function("waitpid",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle PIPE2 = Native.function("pipe2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = Native.function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle READ = Native.function("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle WRITE = Native.function("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    /** Opaque glibc structure sizes, rounded up generously (x86_64: 80, 336 and 128 bytes). */
    private static final class ValueLayoutHolder {
        final long fileActions = 256;
        final long attr = 512;
        final long sigset = 256;
    }

    private Processes() {}

    private static MethodHandle optional(String name, FunctionDescriptor d) {
        try {
            return Native.plainFunction(name, d);
        } catch (UnsatisfiedLinkError e) {
            return null;
        }
    }

    /** A pipe: {@code read} and {@code write} descriptors, both close-on-exec. */
    public record Pipe(int read, int write) {}

    public static Pipe pipe() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            int r = (int) PIPE2.invokeExact(st, fds, O_CLOEXEC);
            Native.check(r, st, "pipe2", "");
            return new Pipe(fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public static void close(int fd) {
        if (fd < 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) CLOSE.invokeExact(st, fd);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Writes all of {@code data} to {@code fd}. */
    public static void write(int fd, byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, data);
            long off = 0;
            while (off < data.length) {
                long n = (long) WRITE.invokeExact(st, fd, buf.asSlice(off), (long) data.length - off);
                if (n < 0 && Native.errno(st) == Errno.EINTR) {
                    continue;
                }
                Native.check(n, st, "write", "fd " + fd);
                off += n;
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Reads from {@code fd} until end of file, {@code max} bytes or the deadline, whichever comes
     * first. Returns what was read; {@code timedOut} tells whether the deadline cut it short.
     */
    public static ReadResult readUntilEof(int fd, int max, long timeoutMillis) {
        return read(fd, max, timeoutMillis, false);
    }

    /** Like {@link #readUntilEof} but also stops after the first newline (reads byte by byte). */
    public static ReadResult readLine(int fd, int max, long timeoutMillis) {
        return read(fd, max, timeoutMillis, true);
    }

    private static ReadResult read(int fd, int max, long timeoutMillis, boolean line) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment buf = arena.allocate(4096);
            int[] fds = {fd};
            short[] events = {POLLIN};
            short[] revents = new short[1];
            while (out.size() < max) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return new ReadResult(out.toByteArray(), true);
                }
                // Fds.poll waits off a virtual thread's carrier: CreateContainer waits here for
                // conmon's answer, and a carrier held that long stalled every other CRI call
                int p = Fds.poll(fds, events, revents, (int) Math.min(left, 1000));
                if (p == 0) {
                    continue;
                }
                long n = (long) READ.invokeExact(st, fd, buf, line ? 1L : (long) Math.min(4096, max - out.size()));
                if (n < 0 && (Native.errno(st) == Errno.EINTR || Native.errno(st) == Errno.EAGAIN)) {
                    continue;
                }
                Native.check(n, st, "read", "fd " + fd);
                if (n == 0) {
                    break;
                }
                out.write(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), 0, (int) n);
                if (line && buf.get(ValueLayout.JAVA_BYTE, 0) == '\n') {
                    break;
                }
            }
            return new ReadResult(out.toByteArray(), false);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public record ReadResult(byte[] data, boolean timedOut) {
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /**
     * Starts {@code argv} with posix_spawn. stdin/stdout/stderr are /dev/null unless {@code extraFds}
     * names them; each entry {@code childFd -> parentFd} of {@code extraFds} is dup'ed into the child. With
     * {@code newSession} the child calls setsid() so it is not tied to the daemon's session. The
     * child starts with no blocked signals and default dispositions. Returns the child's pid; the
     * caller must reap it ({@link #waitFor}).
     */
    public static int spawn(List<String> argv, Map<String, String> env, Map<Integer, Integer> extraFds,
            boolean newSession) {
        // A parent descriptor numbered like a target (0..highest child fd) could be overwritten by
        // an earlier dup2 in the child: such ones are passed through a high-numbered duplicate.
        int targets = Math.max(3, extraFds.keySet().stream().mapToInt(Integer::intValue).max().orElse(0) + 1);
        Map<Integer, Integer> fds = new java.util.LinkedHashMap<>();
        List<Integer> temporaries = new java.util.ArrayList<>();
        try {
            for (Map.Entry<Integer, Integer> e : extraFds.entrySet()) {
                int parentFd = e.getValue();
                if (parentFd < targets) {
                    parentFd = Fds.dupAtLeast(parentFd, Math.max(64, targets));
                    temporaries.add(parentFd);
                }
                fds.put(e.getKey(), parentFd);
            }
            return spawnChecked(argv, env, fds, newSession);
        } finally {
            temporaries.forEach(Processes::close);
        }
    }

    private static int spawnChecked(List<String> argv, Map<String, String> env, Map<Integer, Integer> extraFds,
            boolean newSession) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fa = arena.allocate(L.fileActions, 16);
            MemorySegment attr = arena.allocate(L.attr, 16);
            MemorySegment sigs = arena.allocate(L.sigset, 16);
            MemorySegment pid = arena.allocate(ValueLayout.JAVA_INT);
            int r = (int) FA_INIT.invokeExact(fa);
            check0(r, "posix_spawn_file_actions_init", argv.get(0));
            r = (int) ATTR_INIT.invokeExact(attr);
            check0(r, "posix_spawnattr_init", argv.get(0));
            try {
                MemorySegment devNull = arena.allocateFrom("/dev/null");
                for (int fd = 0; fd <= 2; fd++) {
                    r = (int) FA_OPEN.invokeExact(fa, fd, devNull, O_RDWR, 0);
                    check0(r, "posix_spawn_file_actions_addopen", "/dev/null");
                }
                int firstFree = 3;
                for (Map.Entry<Integer, Integer> e : extraFds.entrySet()) {
                    r = (int) FA_DUP2.invokeExact(fa, (int) e.getValue(), (int) e.getKey());
                    check0(r, "posix_spawn_file_actions_adddup2", "fd " + e.getValue());
                    firstFree = Math.max(firstFree, e.getKey() + 1);
                }
                // The child gets stdio and the requested descriptors only: a monitor that outlives
                // the daemon must not keep its socket, database or other files open.
                if (FA_CLOSEFROM != null) {
                    r = (int) FA_CLOSEFROM.invokeExact(fa, firstFree);
                    check0(r, "posix_spawn_file_actions_addclosefrom_np", "fd " + firstFree);
                } else {
                    for (int fd : openDescriptors()) {
                        if (fd >= firstFree) {
                            r = (int) FA_CLOSE.invokeExact(fa, fd);
                        }
                    }
                }
                r = (int) SIGEMPTYSET.invokeExact(sigs);
                r = (int) ATTR_SETSIGMASK.invokeExact(attr, sigs);
                r = (int) SIGFILLSET.invokeExact(sigs);
                r = (int) ATTR_SETSIGDEFAULT.invokeExact(attr, sigs);
                short flags = (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                        | (newSession ? POSIX_SPAWN_SETSID : 0));
                r = (int) ATTR_SETFLAGS.invokeExact(attr, flags);
                check0(r, "posix_spawnattr_setflags", argv.get(0));
                MemorySegment argvSeg = stringArray(arena, argv);
                List<String> envList = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
                MemorySegment envSeg = stringArray(arena, envList);
                r = (int) POSIX_SPAWN.invokeExact(pid, arena.allocateFrom(argv.get(0)), fa, attr, argvSeg, envSeg);
                check0(r, "posix_spawn", argv.get(0));
                return pid.get(ValueLayout.JAVA_INT, 0);
            } finally {
                r = (int) FA_DESTROY.invokeExact(fa);
                r = (int) ATTR_DESTROY.invokeExact(attr);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Waits for child {@code pid} to end, up to {@code timeoutMillis} (polling with WNOHANG).
     * Returns the exit status (128+signal for a signalled child) or -1 on timeout.
     */
    public static int waitFor(int pid, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        long sleep = 1;
        while (true) {
            Integer status = tryWait(pid);
            if (status != null) {
                return status;
            }
            if (System.nanoTime() > deadline) {
                return -1;
            }
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
            sleep = Math.min(sleep * 2, 50);
        }
    }

    /** waitpid(pid, WNOHANG): the exit status when the child has ended, else null. */
    public static Integer tryWait(int pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            MemorySegment status = arena.allocate(ValueLayout.JAVA_INT);
            int r;
            do {
                r = (int) WAITPID.invokeExact(st, pid, status, WNOHANG);
            } while (r < 0 && Native.errno(st) == Errno.EINTR);
            Native.check(r, st, "waitpid", "pid " + pid);
            if (r == 0) {
                return null;
            }
            int s = status.get(ValueLayout.JAVA_INT, 0);
            int termSig = s & 0x7f;
            return termSig == 0 ? (s >> 8) & 0xff : 128 + termSig;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** kill(pid, sig); returns false when the process does not exist (ESRCH). */
    public static boolean kill(int pid, int signal) {
        if (pid <= 0) {
            throw new IllegalArgumentException("refusing to signal pid " + pid);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) KILL.invokeExact(st, pid, signal);
            if (r < 0 && Native.errno(st) == Errno.ESRCH) {
                return false;
            }
            Native.check(r, st, "kill", "pid " + pid);
            return true;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Whether a process with this pid exists (signal 0). */
    public static boolean alive(int pid) {
        return pid > 0 && kill(pid, 0);
    }

    private static java.util.List<Integer> openDescriptors() {
        java.util.List<Integer> fds = new java.util.ArrayList<>();
        try (var dir = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            dir.forEach(p -> fds.add(Integer.parseInt(p.getFileName().toString())));
        } catch (java.io.IOException e) {
            // nothing to close then
        }
        return fds;
    }

    private static MemorySegment stringArray(Arena arena, List<String> items) {
        MemorySegment arr = arena.allocate(ValueLayout.ADDRESS, items.size() + 1);
        for (int i = 0; i < items.size(); i++) {
            arr.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(items.get(i)));
        }
        arr.setAtIndex(ValueLayout.ADDRESS, items.size(), MemorySegment.NULL);
        return arr;
    }

    private static void check0(int r, String call, String subject) {
        if (r != 0) {
            throw new LinuxException(call, subject, r, Native.strerror(r));
        }
    }
}
