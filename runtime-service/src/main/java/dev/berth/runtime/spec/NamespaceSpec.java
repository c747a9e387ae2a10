package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxView;
import java.nio.file.Path;
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

    private static void join(ArrayNode arr, String type, Path path) {
        if (path != null) {
            arr.addObject().put("type", type).put("path", path.toString());
        }
    }
}
