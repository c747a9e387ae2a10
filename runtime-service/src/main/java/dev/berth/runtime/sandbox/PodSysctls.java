package dev.berth.runtime.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Pod sysctls. Only namespaced ones are allowed (they must not change the node): net.* in the pod
 * netns, and the IPC ones (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) in the pod IPC
 * namespace. They are written under /proc/sys by a thread that joined those namespaces.
 */
public final class PodSysctls {
    private static final Pattern KEY = Pattern.compile("[a-z0-9_]+([./][a-zA-Z0-9_\\-]+)+");

    private PodSysctls() {}

    /** Throws INVALID_ARGUMENT for a sysctl that is malformed or not confined to the pod's namespaces. */
    public static void validate(Map<String, String> sysctls, boolean hostNetwork, boolean hostIpc) {
        for (Map.Entry<String, String> e : sysctls.entrySet()) {
            String key = e.getKey();
            if (!KEY.matcher(key).matches() || key.contains("..")) {
                throw BerthException.invalid("sysctl %s is not a valid sysctl name", key);
            }
            if (e.getValue() == null || e.getValue().contains("\n")) {
                throw BerthException.invalid("sysctl %s: the value must be a single line", key);
            }
            String dotted = key.replace('/', '.');
            if (dotted.startsWith("net.")) {
                if (hostNetwork) {
                    throw BerthException.invalid("sysctl %s would change the node: the pod uses the host network",
                            key);
                }
            } else if (isIpc(dotted)) {
                if (hostIpc) {
                    throw BerthException.invalid("sysctl %s would change the node: the pod uses the host IPC "
                            + "namespace", key);
                }
            } else {
                throw BerthException.invalid("sysctl %s is not namespaced (allowed: net.*, kernel.shm*, kernel.msg*, "
                        + "kernel.sem, fs.mqueue.*)", key);
            }
        }
    }

    private static boolean isIpc(String k) {
        return k.startsWith("kernel.shm") || k.startsWith("kernel.msg") || k.equals("kernel.sem")
                || k.startsWith("fs.mqueue.");
    }

    /** Writes the sysctls from a thread inside the pod's network and IPC namespaces. */
    public static void apply(Map<String, String> sysctls, Path netns, Path ipcns) {
        if (sysctls.isEmpty()) {
            return;
        }
        NamespaceThread.run("sysctl", () -> {
            if (netns != null) {
                Namespaces.join(netns, Namespaces.CLONE_NEWNET);
            }
            if (ipcns != null) {
                Namespaces.join(ipcns, Namespaces.CLONE_NEWIPC);
            }
            for (Map.Entry<String, String> e : sysctls.entrySet()) {
                Path p = Path.of("/proc/sys", e.getKey().contains("/") ? e.getKey() : e.getKey().replace('.', '/'));
                try {
                    Files.writeString(p, e.getValue());
                } catch (NoSuchFileException nf) {
                    throw BerthException.invalid("sysctl %s does not exist on this kernel", e.getKey());
                } catch (IOException io) {
                    throw BerthException.invalid("sysctl %s=%s was refused: %s", e.getKey(), e.getValue(),
                            io.getMessage());
                }
            }
        });
    }
}
