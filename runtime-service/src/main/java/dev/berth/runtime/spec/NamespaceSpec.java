package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxView;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;

/**
 * linux.namespaces: the container joins its pod's network, IPC and UTS namespaces (or the host's
 * when the pod uses them), gets the pod's PID namespace in POD mode, the host's in NODE mode, a
 * target container's in TARGET mode, else its own; always its own mount and cgroup namespaces.
 */
public final class NamespaceSpec {
    private NamespaceSpec() {}

    static void apply(ObjectNode spec, SpecContext ctx) {
        SandboxView sb = ctx.sandbox();
        NamespaceOption ns = ctx.security().getNamespaceOptions();
        ArrayNode arr = ((ObjectNode) spec.get("linux")).putArray("namespaces");
        arr.addObject().put("type", "mount");
        arr.addObject().put("type", "cgroup");
        join(arr, "network", sb.netNamespacePath());
        join(arr, "ipc", sb.ipcNamespacePath());
        join(arr, "uts", sb.utsNamespacePath());
        switch (ns.getPid()) {
            case NODE -> { /* the host's PID namespace: no entry */ }
            case POD -> {
                if (sb.pidNamespacePath() != null) {
                    arr.addObject().put("type", "pid").put("path", sb.pidNamespacePath().toString());
                } else {
                    arr.addObject().put("type", "pid");
                }
            }
            case TARGET -> {
                if (ctx.targetPidNamespace() == null) {
                    throw BerthException.invalid("PID namespace mode TARGET needs a running target_id container");
                }
                arr.addObject().put("type", "pid").put("path", ctx.targetPidNamespace().toString());
            }
            default -> arr.addObject().put("type", "pid");
        }
    }

    /** What the PID TARGET check needs to know of the named container. */
    public record PidTarget(String podId, boolean running, int pid) {}

    /**
     * The PID namespace a TARGET container joins ({@code /proc/<pid>/ns/pid}), null for other modes.
     * The target must be a running container of the same pod (as containerd and CRI-O require):
     * joining another pod's PID namespace would let a container see and signal that pod's processes.
     *
     * @param find the target container by id, empty when there is none
     */
    public static Path pidTarget(NamespaceOption ns, String podId, Function<String, Optional<PidTarget>> find) {
        if (ns.getPid() != NamespaceMode.TARGET) {
            return null;
        }
        String targetId = ns.getTargetId();
        if (targetId.isEmpty()) {
            throw BerthException.invalid("PID namespace mode TARGET needs target_id (a container of the same pod)");
        }
        PidTarget t = find.apply(targetId).orElseThrow(() -> BerthException.notFound(
                "PID namespace target container %s does not exist", targetId));
        if (!t.podId().equals(podId)) {
            throw BerthException.invalid("PID namespace target container %s belongs to another pod sandbox "
                    + "(%s, not %s): a container can only join the PID namespace of a container of its own pod",
                    targetId, t.podId(), podId);
        }
        if (!t.running() || t.pid() <= 0) {
            throw BerthException.precondition("PID namespace target container %s is not running", targetId);
        }
        return Path.of("/proc/" + t.pid() + "/ns/pid");
    }

    private static void join(ArrayNode arr, String type, Path path) {
        if (path != null) {
            arr.addObject().put("type", type).put("path", path.toString());
        }
    }
}
