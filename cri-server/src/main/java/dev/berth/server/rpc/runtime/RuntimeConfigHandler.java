package dev.berth.server.rpc.runtime;

import dev.berth.server.config.BerthConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.CgroupDriver;
import runtime.v1.LinuxRuntimeConfiguration;
import runtime.v1.RuntimeConfigRequest;
import runtime.v1.RuntimeConfigResponse;

/** RuntimeConfig: kubelet adopts the runtime's cgroup driver instead of guessing it. */
@ApplicationScoped
public class RuntimeConfigHandler {
    @Inject
    BerthConfig config;

    public RuntimeConfigResponse handle(RuntimeConfigRequest request) {
        CgroupDriver driver = "systemd".equals(config.cgroupDriver()) ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
        return RuntimeConfigResponse.newBuilder()
                .setLinux(LinuxRuntimeConfiguration.newBuilder().setCgroupDriver(driver))
                .build();
    }
}
