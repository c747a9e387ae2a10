package dev.berth.cni;

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

    /** CNI_ARGS as kubelet-era runtimes pass them. */
    public String cniArgs() {
        return "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + nz(podNamespace) + ";K8S_POD_NAME=" + nz(podName)
                + ";K8S_POD_INFRA_CONTAINER_ID=" + containerId + ";K8S_POD_UID=" + nz(podUid);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
