package dev.berth.runtime.container;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.linux.FileNodes;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Mounts;
import dev.berth.linux.host.MountTable;
import dev.berth.runtime.userns.PodUserNamespace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * The files of a container in its pod's user namespace, made usable by its root (an unprivileged
 * host uid) with idmapped mounts, which berth makes itself so any runtime can use them (Debian
 * bookworm's runc 1.1 knows no idmapped mounts in the OCI spec; runc 1.2 and crun do).
 *
 * <p>Root filesystem: the image layers are seen through one read-only idmapped mount of their
 * common parent directory, and overlayfs (kernel 5.19+: idmapped lower layers) is mounted on those
 * views, so a file host root owns in a layer belongs to container root; the writable layer's top
 * directory belongs to container root's host ids, and overlayfs copies up with the ids it sees. The
 * view is unmounted once overlayfs holds it (overlayfs keeps private clones of its layers).
 *
 * <p>Bind mounts (volumes, /etc/hosts, /etc/resolv.conf, /etc/hostname, /dev/shm): each source is
 * replaced by an idmapped view of it, so files keep the ownership they would have in a container
 * without a user namespace. A filesystem that cannot be idmapped (procfs, sysfs, devices, some
 * network filesystems) is bound as it is: its files show as nobody inside. The views are unmounted
 * once the runtime has made the container's mounts ({@link #releaseBinds}).
 */
final class UserNamespaceMounts {
    private static final Logger LOG = Logger.getLogger(UserNamespaceMounts.class.getName());

    private final MountTable mounts;
    private final RootFs rootFs;

    UserNamespaceMounts(MountTable mounts, RootFs rootFs) {
        this.mounts = mounts;
        this.rootFs = rootFs;
    }

    /** The container's root filesystem, owned by container root; {@code userns} is the pod's pinned namespace. */
    void mountRootFs(ContainerPaths p, List<Path> lowerDirs, Path userns, PodUserNamespace ids) {
        try {
            Files.createDirectories(p.upper());
            requireSearchable(p.dir());
            // the merged root directory takes its owner from the upper one
            FileNodes.lchown(p.upper(), (int) ids.hostRootUid(), (int) ids.hostRootGid());
            if (lowerDirs.isEmpty()) {
                rootFs.mount(p, lowerDirs);
                return;
            }
            // lower dirs may be the layer store's short links (images/l/...): the view must hold the
            // layers themselves, a link inside it would point out of the idmapped mount
            List<Path> real = new ArrayList<>();
            for (Path l : lowerDirs) {
                real.add(l.toRealPath());
            }
            lowerDirs = real;
            Path common = commonParent(lowerDirs);
            Path view = p.idmappedLayers();
            Files.createDirectories(view);
            mounts.idmapped(common, view, userns, false, true);
            try {
                List<Path> lowers = new ArrayList<>();
                for (Path l : lowerDirs) {
                    lowers.add(view.resolve(common.relativize(l.toAbsolutePath().normalize())));
                }
                rootFs.mount(p, lowers);
            } finally {
                unmountView(view);
            }
        } catch (IOException e) {
            throw BerthException.internal("cannot prepare the root filesystem in " + p.dir() + ": " + e, e);
        }
    }

    /**
     * Points every bind mount of {@code spec} at an idmapped view of its source, where the kernel
     * allows one. The views stay mounted until {@link #releaseBinds}.
     */
    void idmapBinds(ObjectNode spec, ContainerPaths p, Path userns) {
        int n = 0;
        for (JsonNode m : spec.path("mounts")) {
            if (!"bind".equals(m.path("type").asText())) {
                continue;
            }
            Path source = Path.of(m.path("source").asText());
            boolean recursive = false;
            for (JsonNode o : m.path("options")) {
                recursive |= o.asText().equals("rbind");
            }
            Path view = p.idmappedBinds().resolve(Integer.toString(n++));
            try {
                Files.createDirectories(view.getParent());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(view);
                } else {
                    Files.createFile(view);
                }
                mounts.idmapped(source, view, userns, recursive, false);
                ((ObjectNode) m).put("source", view.toString());
            } catch (LinuxException e) {
                // this filesystem cannot be idmapped: bound as is
                LOG.fine("bind mount " + source + " is not idmapped: " + e.getMessage());
                deleteIfUnmounted(view);
            } catch (IOException e) {
                throw BerthException.internal("cannot prepare an idmapped view of " + source + ": " + e, e);
            }
        }
    }

    /** Unmounts the views of bind sources (the container has its own mounts by now); repeatable. */
    void releaseBinds(ContainerPaths p) {
        Path dir = p.idmappedBinds();
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var views = Files.list(dir)) {
            for (Path v : views.toList()) {
                unmountView(v);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw BerthException.internal("cannot remove " + dir + ": " + e, e);
        }
    }

    /** Unmounts every view left by a crash or failure, so nothing under the container dir reaches other files. */
    void releaseAll(ContainerPaths p) {
        releaseBinds(p);
        if (Files.exists(p.idmappedLayers(), LinkOption.NOFOLLOW_LINKS)) {
            unmountView(p.idmappedLayers());
        }
    }

    private void unmountView(Path view) {
        try {
            mounts.unmount(view, Mounts.MNT_DETACH | Mounts.UMOUNT_NOFOLLOW);
        } catch (LinuxException e) {
            if (e.errno() != dev.berth.linux.Errno.EINVAL && e.errno() != dev.berth.linux.Errno.ENOENT) {
                throw e;
            }
        }
        deleteIfUnmounted(view);
    }

    /** Deletes a view's mount point, never while something is mounted on it (a volume's files). */
    private void deleteIfUnmounted(Path view) {
        if (isMountedAt(view)) {
            throw BerthException.internal("idmapped view " + view + " is still mounted", null);
        }
        try {
            Files.deleteIfExists(view);
        } catch (IOException e) {
            throw BerthException.internal("cannot delete " + view + ": " + e, e);
        }
    }

    /**
     * The runtime prepares the root filesystem from inside the user namespace, as container root,
     * an unprivileged host uid for which host root's directories are "others": each directory above
     * the container's must let others search it (o+x), or the mount fails with a bare EACCES.
     */
    static void requireSearchable(Path dir) {
        for (Path d = dir.toAbsolutePath().normalize().getParent(); d != null; d = d.getParent()) {
            int mode;
            try {
                mode = (Integer) Files.getAttribute(d, "unix:mode");
            } catch (IOException e) {
                throw BerthException.internal("cannot stat " + d + ": " + e.getMessage(), e);
            }
            if ((mode & 01) == 0) {
                throw BerthException.precondition("containers in a user namespace prepare their root filesystem as "
                        + "an unprivileged host uid, which cannot pass %s (mode %s): allow others to search it "
                        + "(chmod o+x) or put berth's root elsewhere", d, Integer.toOctalString(mode & 07777));
            }
        }
    }

    /**
     * Whether something is mounted on {@code path} in this mount namespace. From mountinfo, not
     * st_dev: an idmapped view of a directory on the same filesystem has its parent's device.
     */
    boolean isMountedAt(Path path) {
        return mounts.isMountPoint(path);
    }

    /** The deepest directory that holds every layer. */
    static Path commonParent(List<Path> dirs) {
        Path common = dirs.get(0).toAbsolutePath().normalize().getParent();
        for (Path d : dirs) {
            Path n = d.toAbsolutePath().normalize();
            while (!n.startsWith(common)) {
                common = common.getParent();
            }
        }
        return common;
    }
}
