package dev.berth.runtime.sandbox;

import java.util.List;

/**
 * A pod sandbox as persisted in the StateStore (kind {@value #KIND}). RunPodSandbox first writes it
 * with state CREATING to {@code <run>/pods/<id>/pending.json}, before it touches the host, so a
 * daemon killed halfway finds every resource it may have made and can undo it; the StateStore
 * commit follows once the pod is READY.
 *
 * <pre>
 *   CREATING --(run finished)--> READY --(stop)--> NOTREADY --(remove)--> (gone)
 *   CREATING --(restart found it)--> NOTREADY (resources cleaned up)
 * </pre>
 *
 * @param config the PodSandboxConfig as protobuf bytes (base64), returned as given
 * @param createdCgroups cgroup directories this pod created, outermost first (removed deepest first)
 * @param infraPid pid of the PID namespace's init (0 when none); infraParentPid its unshare parent
 * @param networkAttached whether CNI ADD was started (DEL must run)
 */
public record SandboxRecord(
        String id,
        String name,
        String namespace,
        String uid,
        int attempt,
        String state,
        long createdAtNanos,
        String runtimeHandler,
        String config,
        String podDir,
        String netns,
        String ipcns,
        String utsns,
        String shm,
        boolean hostNetwork,
        String cgroupPath,
        List<String> createdCgroups,
        int infraPid,
        int infraParentPid,
        boolean networkAttached,
        List<String> podIps,
        String cniResult) {

    public static final String KIND = "sandbox";
    public static final String CREATING = "CREATING";
    public static final String READY = "READY";
    public static final String NOTREADY = "NOTREADY";

    public SandboxRecord withState(String s) {
        return new SandboxRecord(id, name, namespace, uid, attempt, s, createdAtNanos, runtimeHandler, config,
                podDir, netns, ipcns, utsns, shm, hostNetwork, cgroupPath, createdCgroups, infraPid,
                infraParentPid, networkAttached, podIps, cniResult);
    }

    public SandboxRecord withInfra(int pid, int parentPid) {
        return new SandboxRecord(id, name, namespace, uid, attempt, state, createdAtNanos, runtimeHandler, config,
                podDir, netns, ipcns, utsns, shm, hostNetwork, cgroupPath, createdCgroups, pid, parentPid,
                networkAttached, podIps, cniResult);
    }

    public SandboxRecord withNetwork(boolean attached, List<String> ips, String result) {
        return new SandboxRecord(id, name, namespace, uid, attempt, state, createdAtNanos, runtimeHandler, config,
                podDir, netns, ipcns, utsns, shm, hostNetwork, cgroupPath, createdCgroups, infraPid,
                infraParentPid, attached, ips, result);
    }

    /** The same pod with its PodSandboxConfig replaced (base64 protobuf), e.g. after a resources update. */
    public SandboxRecord withConfig(String c) {
        return new SandboxRecord(id, name, namespace, uid, attempt, state, createdAtNanos, runtimeHandler, c,
                podDir, netns, ipcns, utsns, shm, hostNetwork, cgroupPath, createdCgroups, infraPid,
                infraParentPid, networkAttached, podIps, cniResult);
    }

    /** name_namespace_uid_attempt: what must be unique among live pods. */
    public String reservationKey() {
        return reservationKey(name, namespace, uid, attempt);
    }

    public static String reservationKey(String name, String namespace, String uid, int attempt) {
        return name + "_" + namespace + "_" + uid + "_" + attempt;
    }
}
