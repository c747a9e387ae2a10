package dev.berth.server.rpc;

import dev.berth.server.rpc.runtime.RuntimeConfigHandler;
import dev.berth.server.rpc.runtime.StatusHandler;
import dev.berth.server.rpc.runtime.UpdateRuntimeConfigHandler;
import dev.berth.server.rpc.runtime.VersionHandler;
import io.grpc.stub.StreamObserver;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.RuntimeConfigRequest;
import runtime.v1.RuntimeConfigResponse;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.StatusRequest;
import runtime.v1.StatusResponse;
import runtime.v1.UpdateRuntimeConfigRequest;
import runtime.v1.UpdateRuntimeConfigResponse;
import runtime.v1.VersionRequest;
import runtime.v1.VersionResponse;

/**
 * runtime.v1.RuntimeService: dispatch only, one line per RPC into its handler. RPCs not overridden
 * here answer UNIMPLEMENTED naming the method (grpc-java's default), never a fake success.
 */
@ApplicationScoped
public class RuntimeServiceDispatcher extends RuntimeServiceGrpc.RuntimeServiceImplBase {
    @Inject
    VersionHandler version;

    @Inject
    StatusHandler status;

    @Inject
    RuntimeConfigHandler runtimeConfig;

    @Inject
    UpdateRuntimeConfigHandler updateRuntimeConfig;

    @Override
    public void version(VersionRequest request, StreamObserver<VersionResponse> observer) {
        Rpc.unary(observer, () -> version.handle(request));
    }

    @Override
    public void status(StatusRequest request, StreamObserver<StatusResponse> observer) {
        Rpc.unary(observer, () -> status.handle(request));
    }

    @Override
    public void runtimeConfig(RuntimeConfigRequest request, StreamObserver<RuntimeConfigResponse> observer) {
        Rpc.unary(observer, () -> runtimeConfig.handle(request));
    }

    @Override
    public void updateRuntimeConfig(
            UpdateRuntimeConfigRequest request, StreamObserver<UpdateRuntimeConfigResponse> observer) {
        Rpc.unary(observer, () -> updateRuntimeConfig.handle(request));
    }
}
