package dev.berth.runtime.container;

import dev.berth.core.error.BerthException;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Mounts;
import dev.berth.linux.host.MountTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The container's root filesystem: overlayfs of the image's layers under a private writable layer. */
final class RootFs {
    private final MountTable mounts;
    private final UserNamespaceMounts idmapped;

    RootFs(MountTable mounts) {
        this.mounts = mounts;
        this.idmapped = new UserNamespaceMounts(mounts, this);
    }

    /** The root filesystems and bind views of containers in a user namespace. */
    UserNamespaceMounts idmapped() {
        return idmapped;
    }

    void mount(ContainerPaths p, List<Path> lowerDirs) {
        try {
            Files.createDirectories(p.upper());
            Files.createDirectories(p.work());
            Files.createDirectories(p.rootfs());
            List<Path> lowers = new ArrayList<>(lowerDirs);
            if (lowers.isEmpty()) {
                Files.createDirectories(p.emptyLower());
                lowers.add(p.emptyLower());
            }
            for (Path l : lowers) {
                String s = l.toString();
                if (s.contains(":") || s.contains(",") || !Files.isDirectory(l)) {
                    throw BerthException.precondition("image layer directory %s is missing or has ':' or ','", l);
                }
            }
            // Short layer names, relative when many layers would overflow mount(2)'s one-page options.
            mounts.overlay(lowers, p.upper(), p.work(), p.rootfs(), Mounts.MS_NODEV);
        } catch (IOException e) {
            throw BerthException.internal("cannot prepare the root filesystem in " + p.dir() + ": " + e, e);
        }
    }

    /** Unmounts (lazily if busy) and removes every file of the container; repeatable. */
    void remove(ContainerPaths p) {
        if (Files.exists(p.rootfs())) {
            try {
                mounts.ensureUnmounted(p.rootfs());
            } catch (LinuxException e) {
                mounts.unmount(p.rootfs(), Mounts.MNT_DETACH);
            }
            if (mounts.isMountPoint(p.rootfs())) {
                // Never walk into a mounted root: that would delete the image's layers.
                throw BerthException.internal("root filesystem " + p.rootfs() + " is still mounted", null);
            }
        }
        // idmapped views (user namespace pods) must be gone before anything is deleted
        idmapped.releaseAll(p);
        deleteTree(p.dir());
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            List<Path> all = walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList();
            for (Path x : all) {
                Files.deleteIfExists(x);
            }
        } catch (IOException e) {
            throw BerthException.internal("cannot remove " + dir + ": " + e, e);
        }
    }
}
