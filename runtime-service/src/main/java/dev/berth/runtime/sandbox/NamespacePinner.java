package dev.berth.runtime.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.linux.Mounts;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Creates a pod's namespaces and pins them: a fresh platform thread unshares the requested kinds,
 * sets the hostname in the new UTS namespace, and bind-mounts /proc/thread-self/ns/{net,ipc,uts}
 * onto files under the pod dir; then the thread exits. The bind mounts keep the namespaces alive
 * with no process in them, across daemon restarts.
 */
public final class NamespacePinner {
    private NamespacePinner() {}

    /** Which namespaces to make; the map returned holds the pinned file of each ("net", "ipc", "uts"). */
    public static Map<String, Path> pin(Path nsDir, boolean net, boolean ipc, boolean uts, String hostname) {
        Map<String, Path> files = new LinkedHashMap<>();
        int flags = 0;
        if (net) {
            flags |= Namespaces.CLONE_NEWNET;
            files.put("net", nsDir.resolve("net"));
        }
        if (ipc) {
            flags |= Namespaces.CLONE_NEWIPC;
            files.put("ipc", nsDir.resolve("ipc"));
        }
        if (uts) {
            flags |= Namespaces.CLONE_NEWUTS;
            files.put("uts", nsDir.resolve("uts"));
        }
        if (flags == 0) {
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
        int unshareFlags = flags;
        NamespaceThread.run("pin", () -> {
            Namespaces.unshare(unshareFlags);
            if (uts && hostname != null && !hostname.isEmpty()) {
                Namespaces.setHostname(hostname);
            }
            for (Map.Entry<String, Path> e : files.entrySet()) {
                Mounts.bind(Path.of("/proc/thread-self/ns", e.getKey()), e.getValue());
            }
        });
        return files;
    }

    /** Unmounts and deletes a pinned namespace file; repeatable. */
    public static void unpin(Path file) {
        if (file == null) {
            return;
        }
        Mounts.ensureUnmounted(file);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw BerthException.internal("cannot delete " + file + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code file} is a mount point in this mount namespace (a pinned namespace still in place). */
    public static boolean isPinned(Path file) {
        if (file == null) {
            return false;
        }
        String target = file.toAbsolutePath().normalize().toString();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4 && f[4].replace("\\040", " ").equals(target)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }
}
