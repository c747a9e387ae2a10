package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * linux.resources: only the device rules. CPU, memory, pids and hugetlb limits are written by
 * berth's own cgroup manager into the container's cgroup before the runtime creates the
 * container (and changed there by UpdateContainerResources), so the runtime is not asked to.
 */
public final class ResourceSpec {
    private ResourceSpec() {}

    static void apply(ObjectNode spec, SpecContext ctx) {
        ObjectNode res = ((ObjectNode) spec.get("linux")).withObject("/resources");
        if (res.has("devices")) {
            return; // MountSpec wrote deny-all plus the requested devices
        }
        ArrayNode devices = res.putArray("devices");
        devices.addObject().put("allow", ctx.security().getPrivileged()).put("access", "rwm");
    }
}
