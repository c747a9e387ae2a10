package dev.berth.server.rpc.runtime;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.oci.OciFeatures;
import dev.berth.runtime.oci.OciRuntime;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.runtime.userns.UserNamespaceSupport;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.host.HostChecks;
import dev.berth.server.host.HostTools;
import dev.berth.server.status.NetworkCondition;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import runtime.v1.RuntimeCondition;
import runtime.v1.RuntimeFeatures;
import runtime.v1.RuntimeHandler;
import runtime.v1.RuntimeHandlerFeatures;
import runtime.v1.RuntimeStatus;
import runtime.v1.StatusRequest;
import runtime.v1.StatusResponse;

/**
 * Status: RuntimeReady and NetworkReady as they are right now, each false with a reason when not.
 * kubelet stops scheduling pods to the node on either being false, so both are checked live.
 */
@ApplicationScoped
public class StatusHandler {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    BerthConfig config;

    @Inject
    HostTools tools;

    @Inject
    NetworkCondition network;

    @Inject
    UpdateRuntimeConfigHandler runtimeConfig;

    @Inject
    CgroupManager cgroups;

    @Inject
    OciRuntimes runtimes;

    @Inject
    dev.berth.server.status.CheckpointSupport checkpoint;

    public StatusResponse handle(StatusRequest request) {
        Optional<String> runtimeProblem = HostChecks.runtimeNotReady(config);
        Optional<String> networkProblem = network.notReadyReason();
        StatusResponse.Builder out = StatusResponse.newBuilder()
                .setStatus(RuntimeStatus.newBuilder()
                        .addConditions(condition("RuntimeReady", runtimeProblem, "RuntimeNotReady"))
                        .addConditions(condition("NetworkReady", networkProblem, "NetworkPluginNotReady")))
                .addAllRuntimeHandlers(runtimeHandlers())
                .setFeatures(runtimeFeatures());
        if (request.getVerbose()) {
            out.putInfo("config", json(config.asMap()));
            out.putInfo("tools", json(tools.versions()));
            Map<String, Object> notes = new LinkedHashMap<>();
            notes.put("podCidr", runtimeConfig.podCidr());
            notes.put("podNetwork", network.networkInUse());
            notes.put("oomScoreAdjustment", OomScore.describe());
            notes.put("cgroupControllers", cgroups.skippedControllers().isEmpty()
                    ? "all requested limits enforced"
                    : "limits skipped (controller missing, cgroup.skip_missing_controllers=true): "
                            + String.join(", ", cgroups.skippedControllers()));
            notes.put("checkpointRestore", checkpoint.describe());
            out.putInfo("runtime", json(notes));
        }
        return out.build();
    }

    /**
     * One entry per configured handler, and the default handler once more under the name "" (the
     * CRI name of the default, which a pod without RuntimeClass gets).
     */
    private List<RuntimeHandler> runtimeHandlers() {
        // every handler (runc, crun) can join a pod's user namespace: the host decides
        boolean userNamespaces = UserNamespaceSupport.available(config.root());
        List<RuntimeHandler> out = new ArrayList<>();
        out.add(runtimeHandler("", runtimes.forHandler(runtimes.defaultHandler()), userNamespaces));
        for (OciRuntime r : runtimes.all()) {
            out.add(runtimeHandler(r.handler(), r, userNamespaces));
        }
        return out;
    }

    private static RuntimeHandler runtimeHandler(String name, OciRuntime runtime, boolean userNamespaces) {
        OciFeatures f = runtime.features();
        return RuntimeHandler.newBuilder()
                .setName(name)
                .setFeatures(RuntimeHandlerFeatures.newBuilder()
                        .setRecursiveReadOnlyMounts(f.recursiveReadOnlyMounts())
                        .setUserNamespaces(userNamespaces))
                .build();
    }

    /** Runtime-wide features: SupplementalGroupsPolicy (Merge and Strict, see UserSpec). */
    private static RuntimeFeatures runtimeFeatures() {
        return RuntimeFeatures.newBuilder().setSupplementalGroupsPolicy(true).build();
    }

    private static RuntimeCondition condition(String type, Optional<String> problem, String reason) {
        RuntimeCondition.Builder c = RuntimeCondition.newBuilder().setType(type).setStatus(problem.isEmpty());
        problem.ifPresent(p -> c.setReason(reason).setMessage(p));
        return c.build();
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            return "\"" + e.getMessage() + "\"";
        }
    }
}
