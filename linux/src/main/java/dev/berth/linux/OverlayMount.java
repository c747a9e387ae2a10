package dev.berth.linux;

import dev.berth.core.error.BerthException;
import dev.berth.linux.ffm.Native;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Mounts an overlay filesystem. mount(2) takes its options in one page (4096 bytes), which absolute
 * lowerdir paths of an image with many layers overflow; when they do and the lower directories
 * share a parent (the layer store's short links), the mount is made from inside that parent with
 * relative names, on a thread whose working directory is its own (unshare(CLONE_FS)), as
 * containerd and containers/storage do with a forked helper.
 */
public final class OverlayMount {
    /** mount(2) copies at most one page of options, the terminating NUL included. */
    static final int OPTIONS_LIMIT = 4096 - 1;
    private static final int CLONE_FS = 0x00000200;
    private static final MethodHandle CHDIR = Native.function("chdir",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    private OverlayMount() {}

    /**
     * Mounts overlay on {@code target}: {@code lowers} top-most first, with {@code upper} and
     * {@code work} (both null for a read-only mount of the lowers alone).
     */
    public static void mount(List<Path> lowers, Path upper, Path work, Path target, long flags) {
        if (lowers.isEmpty()) {
            throw BerthException.internal("an overlay mount needs at least one lower directory", null);
        }
        String tail = upper == null ? "" : ",upperdir=" + upper + ",workdir=" + work;
        String absolute = "lowerdir=" + lowers.stream().map(Path::toString).collect(Collectors.joining(":")) + tail;
        if (absolute.length() <= OPTIONS_LIMIT) {
            Mounts.mount("overlay", target, "overlay", flags, absolute);
            return;
        }
        Path parent = lowers.getFirst().toAbsolutePath().getParent();
        boolean shared = parent != null && lowers.stream().allMatch(l -> parent.equals(l.toAbsolutePath().getParent()));
        String relative = "lowerdir=" + lowers.stream().map(l -> l.getFileName().toString())
                .collect(Collectors.joining(":")) + tail;
        if (!shared || relative.length() > OPTIONS_LIMIT) {
            throw BerthException.precondition("the overlay mount options for %d layers are %d bytes, more than the "
                    + "kernel's %d%s", lowers.size(), absolute.length(), OPTIONS_LIMIT,
                    shared ? ", even with relative layer names" : " (the layers do not share one directory)");
        }
        Path absTarget = target.toAbsolutePath();
        NamespaceThread.run("overlay-mount", () -> {
            Namespaces.unshare(CLONE_FS); // this thread's working directory only
            chdir(parent);
            Mounts.mount("overlay", absTarget, "overlay", flags, relative);
        });
    }

    private static void chdir(Path dir) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Native.captureState(arena);
            int r = (int) CHDIR.invokeExact(st, arena.allocateFrom(dir.toString()));
            Native.check(r, st, "chdir", dir.toString());
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
