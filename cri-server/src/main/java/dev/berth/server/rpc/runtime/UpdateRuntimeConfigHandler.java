package dev.berth.server.rpc.runtime;

import dev.berth.core.error.BerthException;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.atomic.AtomicReference;
import runtime.v1.UpdateRuntimeConfigRequest;
import runtime.v1.UpdateRuntimeConfigResponse;

/**
 * UpdateRuntimeConfig: kubelet tells the runtime the node's pod CIDR. berth's network takes its
 * subnet from configuration, so the CIDR is validated and remembered (shown in Status) only.
 */
@ApplicationScoped
public class UpdateRuntimeConfigHandler {
    private final AtomicReference<String> podCidr = new AtomicReference<>("");

    public UpdateRuntimeConfigResponse handle(UpdateRuntimeConfigRequest request) {
        String cidr = request.getRuntimeConfig().getNetworkConfig().getPodCidr();
        for (String one : cidr.isEmpty() ? new String[0] : cidr.split(",")) {
            if (!one.trim().matches("[0-9a-fA-F:.]+/\\d{1,3}")) {
                throw BerthException.invalid("pod_cidr '%s' is not a CIDR such as 10.66.0.0/16", one);
            }
        }
        podCidr.set(cidr);
        return UpdateRuntimeConfigResponse.getDefaultInstance();
    }

    public String podCidr() {
        return podCidr.get();
    }
}
