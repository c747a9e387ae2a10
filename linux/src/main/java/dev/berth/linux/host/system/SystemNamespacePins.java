package dev.berth.linux.host.system;

import dev.berth.linux.Mounts;
import dev.berth.linux.host.NamespacePins;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import dev.berth.linux.ns.UserNamespaceHolder;
import java.nio.file.Path;
import java.util.Map;

/**
 * Pins through a fresh platform thread that unshares and bind-mounts /proc/thread-self/ns/KIND
 * (namespace calls act on the calling thread only), or, for a user namespace, through a
 * {@link UserNamespaceHolder} process whose namespaces are bound before it is killed.
 */
final class SystemNamespacePins implements NamespacePins {
    @Override
    public void createAndPin(Map<String, Path> files, String hostname) {
        int flags = 0;
        for (String kind : files.keySet()) {
            flags |= switch (kind) {
                case "net" -> Namespaces.CLONE_NEWNET;
                case "ipc" -> Namespaces.CLONE_NEWIPC;
                case "uts" -> Namespaces.CLONE_NEWUTS;
                default -> throw new IllegalArgumentException("cannot pin a new " + kind + " namespace this way");
            };
        }
        if (flags == 0) {
            return;
        }
        int unshareFlags = flags;
        NamespaceThread.run("pin", () -> {
            Namespaces.unshare(unshareFlags);
            if (files.containsKey("uts") && hostname != null && !hostname.isEmpty()) {
                Namespaces.setHostname(hostname);
            }
            for (Map.Entry<String, Path> e : files.entrySet()) {
                Mounts.bind(Path.of("/proc/thread-self/ns", e.getKey()), e.getValue());
            }
        });
    }

    @Override
    public void createAndPinWithUser(Map<String, Path> files, String uidMap, String gidMap) {
        try (UserNamespaceHolder holder = UserNamespaceHolder.start(
                Namespaces.CLONE_NEWNET | Namespaces.CLONE_NEWIPC | Namespaces.CLONE_NEWUTS)) {
            holder.writeMaps(uidMap, gidMap);
            for (Map.Entry<String, Path> e : files.entrySet()) {
                Mounts.bind(holder.namespaceFile(e.getKey()), e.getValue());
            }
        }
    }

    @Override
    public void setHostname(Path utsns, String hostname) {
        NamespaceThread.run("hostname", () -> {
            Namespaces.join(utsns, Namespaces.CLONE_NEWUTS);
            Namespaces.setHostname(hostname);
        });
    }
}
