package dev.berth.runtime.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.linux.Errno;
import dev.berth.linux.LinuxException;
import dev.berth.linux.host.ProcFs;
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
    private final ProcFs procfs;

    public PodSysctls(ProcFs procfs) {
        this.procfs = procfs;
    }

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
    public void apply(Map<String, String> sysctls, Path netns, Path ipcns) {
        if (sysctls.isEmpty()) {
            return;
        }
        try {
            procfs.writeSysctls(netns, ipcns, sysctls);
        } catch (LinuxException e) {
            String key = e.subject();
            if (e.errno() == Errno.ENOENT) {
                throw BerthException.invalid("sysctl %s does not exist on this kernel", key);
            }
            throw BerthException.invalid("sysctl %s=%s was refused: %s", key, sysctls.get(key), e.getMessage());
        }
    }
}
