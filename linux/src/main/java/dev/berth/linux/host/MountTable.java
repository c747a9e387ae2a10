package dev.berth.linux.host;

import dev.berth.linux.Errno;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Mounts;
import java.nio.file.Path;
import java.util.List;

/** mount(2), umount2(2) and the mount shapes berth makes (overlay roots, idmapped views). */
public interface MountTable {
    /** mount(source, target, fstype, flags, data); null strings are passed as NULL. */
    void mount(String source, Path target, String fstype, long flags, String data);

    void unmount(Path target, int flags);

    /** overlayfs of {@code lowers} (topmost first) under {@code upper} at {@code target}. */
    void overlay(List<Path> lowers, Path upper, Path work, Path target, long flags);

    /** An idmapped view of {@code source} at {@code target}, ids mapped as {@code userns} maps them. */
    void idmapped(Path source, Path target, Path userns, boolean recursive, boolean readOnly);

    /** Whether {@code path} is a mount point in this mount namespace. */
    boolean isMountPoint(Path path);

    /** Bind-mounts {@code source} on {@code target}. */
    default void bind(Path source, Path target) {
        mount(source.toString(), target, null, Mounts.MS_BIND, null);
    }

    /** Unmounts {@code target}, treating "not mounted" and "gone" as done (teardown is repeatable). */
    default void ensureUnmounted(Path target) {
        try {
            unmount(target, Mounts.UMOUNT_NOFOLLOW);
        } catch (LinuxException e) {
            if (e.errno() != Errno.EINVAL && e.errno() != Errno.ENOENT) {
                throw e;
            }
        }
    }
}
