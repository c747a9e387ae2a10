package dev.berth.server.rpc;

import dev.berth.server.rpc.runtime.RuntimeConfigHandler;
import dev.berth.server.rpc.runtime.StatusHandler;
import dev.berth.server.rpc.runtime.UpdateRuntimeConfigHandler;
import dev.berth.server.rpc.runtime.VersionHandler;
import dev.berth.server.rpc.sandbox.ListPodSandboxHandler;
import dev.berth.server.rpc.sandbox.PodSandboxStatusHandler;
import dev.berth.server.rpc.sandbox.RemovePodSandboxHandler;
import dev.berth.server.rpc.sandbox.RunPodSandboxHandler;
import dev.berth.server.rpc.sandbox.StopPodSandboxHandler;
import io.grpc.stub.StreamObserver;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.ListPodSandboxResponse;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PodSandboxStatusResponse;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RemovePodSandboxResponse;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RunPodSandboxResponse;
import runtime.v1.RuntimeConfigRequest;
import runtime.v1.RuntimeConfigResponse;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.StatusRequest;
import runtime.v1.StatusResponse;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.StopPodSandboxResponse;
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

    @Inject
    RunPodSandboxHandler runPodSandbox;

    @Inject
    StopPodSandboxHandler stopPodSandbox;

    @Inject
    RemovePodSandboxHandler removePodSandbox;

    @Inject
    PodSandboxStatusHandler podSandboxStatus;

    @Inject
    ListPodSandboxHandler listPodSandbox;

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

    @Override
    public void runPodSandbox(RunPodSandboxRequest request, StreamObserver<RunPodSandboxResponse> observer) {
        Rpc.unary(observer, () -> runPodSandbox.handle(request));
    }

    @Override
    public void stopPodSandbox(StopPodSandboxRequest request, StreamObserver<StopPodSandboxResponse> observer) {
        Rpc.unary(observer, () -> stopPodSandbox.handle(request));
    }

    @Override
    public void removePodSandbox(RemovePodSandboxRequest request, StreamObserver<RemovePodSandboxResponse> observer) {
        Rpc.unary(observer, () -> removePodSandbox.handle(request));
    }

    @Override
    public void podSandboxStatus(PodSandboxStatusRequest request, StreamObserver<PodSandboxStatusResponse> observer) {
        Rpc.unary(observer, () -> podSandboxStatus.handle(request));
    }

    @Override
    public void listPodSandbox(ListPodSandboxRequest request, StreamObserver<ListPodSandboxResponse> observer) {
        Rpc.unary(observer, () -> listPodSandbox.handle(request));
    }
}
