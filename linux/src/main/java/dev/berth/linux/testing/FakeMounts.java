package dev.berth.linux.testing;

import dev.berth.linux.Errno;
import dev.berth.linux.Mounts;
import dev.berth.linux.host.MountTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Mounts as a stack of entries per target. A mount needs its target to exist (ENOENT otherwise, as
 * the kernel says); unmount of a target with nothing mounted is EINVAL. Propagation changes and
 * remounts change nothing in the model.
 */
public final class FakeMounts implements MountTable {
    /** One mount: what, where, which filesystem type. */
    public record Entry(String source, Path target, String fstype) {}

    private final FakeLinuxHost host;
    private final List<Entry> entries = new ArrayList<>();

    FakeMounts(FakeLinuxHost host) {
        this.host = host;
    }

    @Override
    public void mount(String source, Path target, String fstype, long flags, String data) {
        synchronized (host) {
            host.record("mounts.mount", source, target, fstype, flags, data);
            if ((flags & (Mounts.MS_REMOUNT | Mounts.MS_PRIVATE | Mounts.MS_SLAVE | Mounts.MS_SHARED)) != 0
                    && (flags & Mounts.MS_BIND) == 0) {
                return;
            }
            add(new Entry(source, target, fstype == null ? "bind" : fstype));
        }
    }

    @Override
    public void unmount(Path target, int flags) {
        synchronized (host) {
            host.record("mounts.unmount", target, flags);
            Path t = norm(target);
            for (int i = entries.size() - 1; i >= 0; i--) {
                if (entries.get(i).target().equals(t)) {
                    entries.remove(i);
                    return;
                }
            }
            throw FakeLinuxHost.error("umount2", target, Errno.EINVAL, "Invalid argument");
        }
    }

    @Override
    public void overlay(List<Path> lowers, Path upper, Path work, Path target, long flags) {
        synchronized (host) {
            host.record("mounts.overlay", List.copyOf(lowers), upper, work, target, flags);
            add(new Entry("overlay", target, "overlay"));
        }
    }

    @Override
    public void idmapped(Path source, Path target, Path userns, boolean recursive, boolean readOnly) {
        synchronized (host) {
            host.record("mounts.idmapped", source, target, userns, recursive, readOnly);
            add(new Entry(source.toString(), target, "idmapped"));
        }
    }

    @Override
    public boolean isMountPoint(Path path) {
        synchronized (host) {
            host.record("mounts.isMountPoint", path);
            return entries.stream().anyMatch(e -> e.target().equals(norm(path)));
        }
    }

    /** Targets mounted now, in mount order. */
    public List<Path> mounted() {
        synchronized (host) {
            return entries.stream().map(Entry::target).toList();
        }
    }

    /** The entries now, in mount order. */
    public List<Entry> entries() {
        synchronized (host) {
            return List.copyOf(entries);
        }
    }

    /** The topmost entry at {@code target}, or null. */
    Entry at(Path target) {
        Path t = norm(target);
        for (int i = entries.size() - 1; i >= 0; i--) {
            if (entries.get(i).target().equals(t)) {
                return entries.get(i);
            }
        }
        return null;
    }

    void add(Entry e) {
        if (!Files.exists(e.target())) {
            throw FakeLinuxHost.error("mount", e.target(), Errno.ENOENT, "No such file or directory");
        }
        entries.add(new Entry(e.source(), norm(e.target()), e.fstype()));
    }

    private static Path norm(Path p) {
        return p.toAbsolutePath().normalize();
    }
}
