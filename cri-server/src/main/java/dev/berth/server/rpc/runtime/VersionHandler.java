package dev.berth.server.rpc.runtime;

import dev.berth.server.BerthVersion;
import jakarta.enterprise.context.ApplicationScoped;
import runtime.v1.VersionRequest;
import runtime.v1.VersionResponse;

/** Version: who we are and which CRI we speak. */
@ApplicationScoped
public class VersionHandler {
    /** The "kubelet runtime API" version field; every CRI v1 runtime reports 0.1.0. */
    static final String KUBELET_API_VERSION = "0.1.0";

    public VersionResponse handle(VersionRequest request) {
        return VersionResponse.newBuilder()
                .setVersion(KUBELET_API_VERSION)
                .setRuntimeName("berth")
                .setRuntimeVersion(BerthVersion.VERSION)
                .setRuntimeApiVersion("v1")
                .build();
    }
}
