package dev.berth.runtime.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.NamespacePins;
import dev.berth.runtime.userns.PodUserNamespace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The namespaces of a pod with its own user namespace (userns mode POD). As containerd and CRI-O
 * do it, the network, IPC and UTS namespaces are created inside the pod's user namespace, so they
 * are owned by it: its containers (root mapped to an unprivileged host id) may then mount sysfs and
 * mqueue for them and set the hostname, which they could not for namespaces the host's user
 * namespace owns. {@link NamespacePins#createAndPinWithUser} makes all four at once; the pod's id maps are
 * written, then each namespace is pinned under the pod's ns dir like {@link NamespacePinner} does
 * ("user" beside "net", "ipc", "uts").
 */
public final class UserNamespacePinner {
    static final String USER = "user";

    private final NamespacePins pins;

    public UserNamespacePinner(LinuxHost host) {
        this.pins = host.namespaces();
    }

    /** The pinned user namespace of the pod whose namespace files live in {@code nsDir}. */
    public static Path userNamespaceFile(Path nsDir) {
        return nsDir.resolve(USER);
    }

    /** Makes and pins user, net, ipc and uts namespaces; the map returned holds the pinned file of each. */
    public Map<String, Path> pin(Path nsDir, PodUserNamespace userns, String hostname) {
        Map<String, Path> files = new LinkedHashMap<>();
        for (String kind : new String[] {USER, "net", "ipc", "uts"}) {
            files.put(kind, nsDir.resolve(kind));
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
        pins.createAndPinWithUser(files, userns.uids().mapLine(), userns.gids().mapLine());
        if (hostname != null && !hostname.isEmpty()) {
            // root of the host's user namespace may enter a UTS namespace a child namespace owns
            pins.setHostname(files.get("uts"), hostname);
        }
        return files;
    }
}
