package dev.berth.linux.host.system;

import dev.berth.linux.Errno;
import dev.berth.linux.LinuxException;
import dev.berth.linux.ffm.Native;
import dev.berth.linux.host.CgroupFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** {@link CgroupFiles} on a mounted hierarchy: mkdir(2) and rmdir(2) for their errno, file reads and writes. */
final class SystemCgroupFiles implements CgroupFiles {
    private static final MethodHandle MKDIR = Native.function("mkdir",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle RMDIR = Native.function("rmdir",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    private final Path mount;

    SystemCgroupFiles(Path mount) {
        this.mount = mount;
    }

    @Override
    public Path mount() {
        return mount;
    }

    @Override
    /*
     * The topmost mount on the mount point, from /proc/self/mountinfo. Not Files.getFileStore: where
     * cgroup2 is mounted over a hybrid host's tmpfs at /sys/fs/cgroup (a private mount namespace, as
     * run-hybrid and the tests make) the JDK reports the tmpfs underneath.
     */
    public boolean isCgroup2() {
        try {
            String mountPoint = mount.toAbsolutePath().normalize().toString();
            String type = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                int sep = java.util.Arrays.asList(f).indexOf("-");
                if (f.length > 4 && sep > 0 && sep + 1 < f.length && unescape(f[4]).equals(mountPoint)) {
                    type = f[sep + 1]; // later lines are mounted on top of earlier ones
                }
            }
            return "cgroup2".equals(type);
        } catch (IOException e) {
            return false;
        }
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    @Override
    public boolean exists(String path) {
        return Files.exists(resolve(path));
    }

    @Override
    public boolean isDirectory(String path) {
        return Files.isDirectory(resolve(path));
    }

    @Override
    public void mkdir(String path) {
        Path dir = resolve(path);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) MKDIR.invokeExact(st, arena.allocateFrom(dir.toString()), 0755);
            Native.check(r, st, "mkdir", dir.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    @Override
    public void rmdir(String path) {
        Path dir = resolve(path);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) RMDIR.invokeExact(st, arena.allocateFrom(dir.toString()));
            Native.check(r, st, "rmdir", dir.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    @Override
    public String read(String path) {
        Path file = resolve(path);
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new LinuxException("read", file.toString(), Errno.ENOENT, "No such file or directory");
        } catch (IOException e) {
            throw new LinuxException("read", file.toString(), Errno.EIO, e.getMessage());
        }
    }

    @Override
    public void write(String path, String value) {
        Path file = resolve(path);
        try {
            Files.writeString(file, value);
        } catch (NoSuchFileException e) {
            throw new LinuxException("write", file + " <- " + value, Errno.ENOENT, "No such file or directory");
        } catch (IOException e) {
            throw new LinuxException("write", file + " <- " + value, Errno.EIO, e.getMessage());
        }
    }

    @Override
    public List<String> children(String path) {
        try (Stream<Path> s = Files.list(resolve(path))) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
