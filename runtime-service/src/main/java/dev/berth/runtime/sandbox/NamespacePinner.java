package dev.berth.runtime.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.MountTable;
import dev.berth.linux.host.NamespacePins;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Creates a pod's namespaces and pins them on files under the pod dir ({@link NamespacePins}:
 * a fresh platform thread unshares the requested kinds, sets the hostname in the new UTS
 * namespace and bind-mounts /proc/thread-self/ns/{net,ipc,uts} onto the files). The bind mounts
 * keep the namespaces alive with no process in them, across daemon restarts.
 */
public final class NamespacePinner {
    private final MountTable mounts;
    private final NamespacePins pins;

    public NamespacePinner(LinuxHost host) {
        this.mounts = host.mounts();
        this.pins = host.namespaces();
    }

    /** Which namespaces to make; the map returned holds the pinned file of each ("net", "ipc", "uts"). */
    public Map<String, Path> pin(Path nsDir, boolean net, boolean ipc, boolean uts, String hostname) {
        Map<String, Path> files = new LinkedHashMap<>();
        if (net) {
            files.put("net", nsDir.resolve("net"));
        }
        if (ipc) {
            files.put("ipc", nsDir.resolve("ipc"));
        }
        if (uts) {
            files.put("uts", nsDir.resolve("uts"));
        }
        if (files.isEmpty()) {
            return files;
        }
        try {
            Files.createDirectories(nsDir);
            for (Path f : files.values()) {
                if (!Files.exists(f)) {
                    Files.createFile(f);
                }
            }
        } catch (IOException e) {
            throw BerthException.internal("cannot create namespace files in " + nsDir + ": " + e.getMessage(), e);
        }
        pins.createAndPin(files, hostname);
        return files;
    }

    /** Unmounts and deletes a pinned namespace file; repeatable. */
    public void unpin(Path file) {
        if (file == null) {
            return;
        }
        mounts.ensureUnmounted(file);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw BerthException.internal("cannot delete " + file + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code file} is a mount point in this mount namespace (a pinned namespace still in place). */
    public boolean isPinned(Path file) {
        return file != null && mounts.isMountPoint(file);
    }
}
