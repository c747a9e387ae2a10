package dev.berth.linux.host.system;

import dev.berth.linux.IdMappedMounts;
import dev.berth.linux.Mounts;
import dev.berth.linux.OverlayMount;
import dev.berth.linux.host.MountTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/** {@link MountTable} over mount(2), umount2(2), the overlay and idmapped mount helpers and mountinfo. */
final class SystemMountTable implements MountTable {
    @Override
    public void mount(String source, Path target, String fstype, long flags, String data) {
        Mounts.mount(source, target, fstype, flags, data);
    }

    @Override
    public void unmount(Path target, int flags) {
        Mounts.unmount(target, flags);
    }

    @Override
    public void overlay(List<Path> lowers, Path upper, Path work, Path target, long flags) {
        OverlayMount.mount(lowers, upper, work, target, flags);
    }

    @Override
    public void idmapped(Path source, Path target, Path userns, boolean recursive, boolean readOnly) {
        IdMappedMounts.mount(source, target, userns, recursive, readOnly);
    }

    /** A mountinfo entry names it, or it is on another device than its parent (overlay roots). */
    @Override
    public boolean isMountPoint(Path path) {
        String target = path.toAbsolutePath().normalize().toString();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4 && f[4].replace("\\040", " ").equals(target)) {
                    return true;
                }
            }
        } catch (IOException e) {
            // fall back on the device check
        }
        try {
            Path parent = path.toAbsolutePath().getParent();
            return parent != null && !Files.getAttribute(path, "unix:dev", LinkOption.NOFOLLOW_LINKS)
                    .equals(Files.getAttribute(parent, "unix:dev", LinkOption.NOFOLLOW_LINKS));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
