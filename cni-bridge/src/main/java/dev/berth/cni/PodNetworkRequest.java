package dev.berth.cni;

import dev.berth.core.error.BerthException;
import java.nio.file.Path;
import java.util.List;

/**
 * One pod's attachment: the CNI container id (the sandbox id), its network namespace (null when
 * it is already gone: DEL still cleans up host state), the interface name and the pod identity
 * passed to plugins as K8S_POD_* CNI_ARGS.
 */
public record PodNetworkRequest(
        String containerId,
        Path netns,
        String ifName,
        String podName,
        String podNamespace,
        String podUid,
        List<PortMapping> portMappings) {

    public PodNetworkRequest {
        ifName = ifName == null || ifName.isEmpty() ? "eth0" : ifName;
        portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
    }

    /**
     * Refuses a pod identity that would change what CNI_ARGS says: its fields are separated by ';'
     * and '=' with no escaping, so a pod named "a;IP=10.0.0.9" would hand plugins an IP of its
     * choosing. Checked before ADD; DEL of a pod made before this check still runs.
     */
    public void checkCniArgs() {
        for (String[] f : new String[][] {{"metadata.name", podName}, {"metadata.namespace", podNamespace},
                {"metadata.uid", podUid}, {"sandbox id", containerId}}) {
            String v = nz(f[1]);
            if (v.length() > 253 || !v.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ';' && c != '=')) {
                throw BerthException.invalid("pod %s \"%s\" cannot be passed to CNI plugins: at most 253 printable "
                        + "characters without spaces, ';' or '='", f[0], v.length() > 64 ? v.substring(0, 64) + "..."
                        : v.replaceAll("\\p{Cntrl}", "?"));
            }
        }
    }

    /** CNI_ARGS as kubelet-era runtimes pass them. */
    public String cniArgs() {
        return "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + nz(podNamespace) + ";K8S_POD_NAME=" + nz(podName)
                + ";K8S_POD_INFRA_CONTAINER_ID=" + containerId + ";K8S_POD_UID=" + nz(podUid);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
