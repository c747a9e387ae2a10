package dev.berth.linux;

import dev.berth.linux.ffm.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * Idmapped mounts (kernel 5.12+): a clone of a directory's mount, made with open_tree(2), whose
 * owners are shifted through a user namespace's mapping with mount_setattr(2) MOUNT_ATTR_IDMAP, then
 * attached with move_mount(2). Seen through it, a file owned by host uid {@code u} belongs to
 * {@code u} mapped into that namespace, so container root (host uid H) owns what host root owns.
 * See man 2 mount_setattr, "ID-mapped mounts".
 */
public final class IdMappedMounts {
    private static final int AT_FDCWD = -100;
    private static final int AT_EMPTY_PATH = 0x1000;
    private static final int AT_RECURSIVE = 0x8000;
    private static final int OPEN_TREE_CLONE = 1;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int MOVE_MOUNT_F_EMPTY_PATH = 0x4;
    private static final long MOUNT_ATTR_RDONLY = 0x1;
    private static final long MOUNT_ATTR_IDMAP = 0x100000;

    /** struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; } */
    private static final StructLayout MOUNT_ATTR = MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("attr_set"),
            ValueLayout.JAVA_LONG.withName("attr_clr"), ValueLayout.JAVA_LONG.withName("propagation"),
            ValueLayout.JAVA_LONG.withName("userns_fd"));

    private static final MethodHandle OPEN = Native.function("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = Native.function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle OPEN_TREE = Native.function("open_tree", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle MOUNT_SETATTR = Native.function("mount_setattr", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle MOVE_MOUNT = Native.function("move_mount", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private IdMappedMounts() {}

    /**
     * Mounts an idmapped clone of {@code source} on {@code target} (an existing directory or file).
     *
     * @param userns a user namespace file ({@code /proc/<pid>/ns/user} or a pinned copy) whose mapping is used
     * @param recursive clone the submounts too (every one must allow idmapping, or the call fails)
     * @param readOnly make the clone read-only
     */
    public static void mount(Path source, Path target, Path userns, boolean recursive, boolean readOnly) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int tree = idmappedTree(arena, st, source, userns, recursive, readOnly);
            try {
                int r = (int) MOVE_MOUNT.invokeExact(st, tree, arena.allocateFrom(""), AT_FDCWD,
                        arena.allocateFrom(target.toString()), MOVE_MOUNT_F_EMPTY_PATH);
                Native.check(r, st, "move_mount", source + " to " + target);
            } finally {
                close(st, tree);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * Whether the filesystem under {@code dir} can be idmapped through {@code userns}: makes the
     * idmapped clone and drops it without attaching it anywhere. Throws the kernel's refusal.
     */
    public static void check(Path dir, Path userns) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            close(st, idmappedTree(arena, st, dir, userns, false, false));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** A detached, idmapped clone of source's mount, as an open file descriptor. */
    private static int idmappedTree(Arena arena, MemorySegment st, Path source, Path userns, boolean recursive,
            boolean readOnly) throws Throwable {
        int nsFd = (int) OPEN.invokeExact(st, arena.allocateFrom(userns.toString()), O_RDONLY | O_CLOEXEC);
        Native.check(nsFd, st, "open", userns.toString());
        try {
            int tree = (int) OPEN_TREE.invokeExact(st, AT_FDCWD, arena.allocateFrom(source.toString()),
                    OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
            Native.check(tree, st, "open_tree", source.toString());
            try {
                MemorySegment attr = arena.allocate(MOUNT_ATTR);
                attr.set(ValueLayout.JAVA_LONG, 0, MOUNT_ATTR_IDMAP | (readOnly ? MOUNT_ATTR_RDONLY : 0));
                attr.set(ValueLayout.JAVA_LONG, 24, nsFd);
                int r = (int) MOUNT_SETATTR.invokeExact(st, tree, arena.allocateFrom(""),
                        AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), attr, MOUNT_ATTR.byteSize());
                Native.check(r, st, "mount_setattr", "idmap " + source + " through " + userns);
                return tree;
            } catch (Throwable t) {
                close(st, tree);
                throw t;
            }
        } finally {
            close(st, nsFd);
        }
    }

    private static void close(MemorySegment st, int fd) throws Throwable {
        int ignored = (int) CLOSE.invokeExact(st, fd);
    }
}
