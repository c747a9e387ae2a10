package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxView;
import dev.berth.runtime.userns.PodUserNamespace;
import java.util.Optional;

/**
 * The user namespace: a container of a pod with userns mode POD joins the pod's pinned user
 * namespace and states its mappings (linux.uidMappings and gidMappings): runc needs them beside the
 * path to know which host ids own container root (for the files it prepares). With mode NODE or no
 * userns options the container stays in the host's user namespace: no entry. Runs after
 * {@link NamespaceSpec}, whose namespace list it extends.
 */
public final class UserNamespaceSpec {
    private UserNamespaceSpec() {}

    static void apply(ObjectNode spec, SpecContext ctx) {
        SandboxView sb = ctx.sandbox();
        Optional<PodUserNamespace> userns = PodUserNamespace.forContainer(ctx.security().getNamespaceOptions(),
                sb.config().getLinux().getSecurityContext().getNamespaceOptions());
        if (userns.isEmpty()) {
            return;
        }
        if (sb.userNamespacePath() == null) {
            throw BerthException.precondition("pod %s asked for a user namespace but has none pinned; recreate the pod",
                    sb.id());
        }
        ObjectNode linux = (ObjectNode) spec.get("linux");
        ArrayNode namespaces = linux.withArray("/namespaces");
        namespaces.addObject().put("type", "user").put("path", sb.userNamespacePath().toString());
        mapping(linux.putArray("uidMappings"), userns.get().uids());
        mapping(linux.putArray("gidMappings"), userns.get().gids());
    }

    private static void mapping(ArrayNode arr, PodUserNamespace.IdMapping m) {
        arr.addObject().put("containerID", m.containerId()).put("hostID", m.hostId()).put("size", m.length());
    }
}
