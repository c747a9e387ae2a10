package dev.berth.server.rpc.sandbox;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.sandbox.SandboxManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.UpdatePodSandboxResourcesRequest;
import runtime.v1.UpdatePodSandboxResourcesResponse;

/**
 * UpdatePodSandboxResources: the pod-level resources into the pod cgroup, live (cpu.weight, cpu.max,
 * memory.max, cpuset, hugetlb, unified), checked as UpdateContainerResources checks them: bad values
 * are INVALID_ARGUMENT and a controller the host lacks is FAILED_PRECONDITION naming it, before any
 * file is written. The overhead is recorded (kubelet counts it in the pod's resources already).
 */
@ApplicationScoped
public class UpdatePodSandboxResourcesHandler {
    @Inject
    SandboxManager sandboxes;

    @Inject
    CgroupManager cgroups;

    public UpdatePodSandboxResourcesResponse handle(UpdatePodSandboxResourcesRequest req) {
        if (req.getPodSandboxId().isEmpty()) {
            throw BerthException.invalid("UpdatePodSandboxResources: pod_sandbox_id is required");
        }
        var plan = cgroups.plan(req.getResources());
        sandboxes.updateResources(req.getPodSandboxId(), req.hasOverhead() ? req.getOverhead() : null,
                req.hasResources() ? req.getResources() : null, cgroup -> cgroups.apply(cgroup, plan));
        return UpdatePodSandboxResourcesResponse.getDefaultInstance();
    }
}
