package dev.berth.server.rpc;

import dev.berth.server.rpc.container.AttachHandler;
import dev.berth.server.rpc.container.ContainerStatsHandler;
import dev.berth.server.rpc.container.ContainerStatusHandler;
import dev.berth.server.rpc.container.CreateContainerHandler;
import dev.berth.server.rpc.container.ExecHandler;
import dev.berth.server.rpc.container.ExecSyncHandler;
import dev.berth.server.rpc.container.ListContainerStatsHandler;
import dev.berth.server.rpc.container.ListContainersHandler;
import dev.berth.server.rpc.container.RemoveContainerHandler;
import dev.berth.server.rpc.container.ReopenContainerLogHandler;
import dev.berth.server.rpc.container.StartContainerHandler;
import dev.berth.server.rpc.container.StopContainerHandler;
import dev.berth.server.rpc.container.UpdateContainerResourcesHandler;
import dev.berth.server.rpc.runtime.RuntimeConfigHandler;
import dev.berth.server.rpc.runtime.StatusHandler;
import dev.berth.server.rpc.runtime.UpdateRuntimeConfigHandler;
import dev.berth.server.rpc.runtime.VersionHandler;
import dev.berth.server.rpc.sandbox.ListPodSandboxHandler;
import dev.berth.server.rpc.sandbox.PodSandboxStatusHandler;
import dev.berth.server.rpc.sandbox.PortForwardHandler;
import dev.berth.server.rpc.sandbox.RemovePodSandboxHandler;
import dev.berth.server.rpc.sandbox.RunPodSandboxHandler;
import dev.berth.server.rpc.sandbox.StopPodSandboxHandler;
import io.grpc.stub.StreamObserver;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.AttachRequest;
import runtime.v1.AttachResponse;
import runtime.v1.ContainerStatsRequest;
import runtime.v1.ContainerStatsResponse;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.ContainerStatusResponse;
import runtime.v1.CreateContainerRequest;
import runtime.v1.CreateContainerResponse;
import runtime.v1.ExecRequest;
import runtime.v1.ExecResponse;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.ListContainerStatsRequest;
import runtime.v1.ListContainerStatsResponse;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListContainersResponse;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.ListPodSandboxResponse;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PodSandboxStatusResponse;
import runtime.v1.PortForwardRequest;
import runtime.v1.PortForwardResponse;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemoveContainerResponse;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RemovePodSandboxResponse;
import runtime.v1.ReopenContainerLogRequest;
import runtime.v1.ReopenContainerLogResponse;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RunPodSandboxResponse;
import runtime.v1.RuntimeConfigRequest;
import runtime.v1.RuntimeConfigResponse;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.StartContainerRequest;
import runtime.v1.StartContainerResponse;
import runtime.v1.StatusRequest;
import runtime.v1.StatusResponse;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopContainerResponse;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.StopPodSandboxResponse;
import runtime.v1.UpdateContainerResourcesRequest;
import runtime.v1.UpdateContainerResourcesResponse;
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

    @Inject
    CreateContainerHandler createContainerHandler;

    @Inject
    StartContainerHandler startContainerHandler;

    @Inject
    StopContainerHandler stopContainerHandler;

    @Inject
    RemoveContainerHandler removeContainerHandler;

    @Inject
    ContainerStatusHandler containerStatusHandler;

    @Inject
    ListContainersHandler listContainersHandler;

    @Inject
    UpdateContainerResourcesHandler updateContainerResourcesHandler;

    @Inject
    ReopenContainerLogHandler reopenContainerLogHandler;

    @Inject
    ExecSyncHandler execSyncHandler;

    @Inject
    ExecHandler execHandler;

    @Inject
    AttachHandler attachHandler;

    @Inject
    PortForwardHandler portForwardHandler;

    @Inject
    ContainerStatsHandler containerStatsHandler;

    @Inject
    ListContainerStatsHandler listContainerStatsHandler;

    @Inject
    dev.berth.server.rpc.sandbox.PodSandboxStatsHandler podSandboxStatsHandler;

    @Inject
    dev.berth.server.rpc.sandbox.ListPodSandboxStatsHandler listPodSandboxStatsHandler;

    @Inject
    dev.berth.server.rpc.sandbox.StreamPodSandboxesHandler streamPodSandboxesHandler;

    @Inject
    dev.berth.server.rpc.sandbox.StreamPodSandboxStatsHandler streamPodSandboxStatsHandler;

    @Inject
    dev.berth.server.rpc.container.StreamContainersHandler streamContainersHandler;

    @Inject
    dev.berth.server.rpc.container.StreamContainerStatsHandler streamContainerStatsHandler;

    @Inject
    dev.berth.server.rpc.runtime.GetContainerEventsHandler getContainerEventsHandler;

    @Inject
    dev.berth.server.rpc.runtime.ListMetricDescriptorsHandler listMetricDescriptorsHandler;

    @Inject
    dev.berth.server.rpc.sandbox.ListPodSandboxMetricsHandler listPodSandboxMetricsHandler;

    @Inject
    dev.berth.server.rpc.sandbox.StreamPodSandboxMetricsHandler streamPodSandboxMetricsHandler;

    @Inject
    dev.berth.server.rpc.sandbox.UpdatePodSandboxResourcesHandler updatePodSandboxResourcesHandler;

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

    @Override
    public void createContainer(CreateContainerRequest request, StreamObserver<CreateContainerResponse> observer) {
        Rpc.unary(observer, () -> createContainerHandler.handle(request));
    }

    @Override
    public void startContainer(StartContainerRequest request, StreamObserver<StartContainerResponse> observer) {
        Rpc.unary(observer, () -> startContainerHandler.handle(request));
    }

    @Override
    public void stopContainer(StopContainerRequest request, StreamObserver<StopContainerResponse> observer) {
        Rpc.unary(observer, () -> stopContainerHandler.handle(request));
    }

    @Override
    public void removeContainer(RemoveContainerRequest request, StreamObserver<RemoveContainerResponse> observer) {
        Rpc.unary(observer, () -> removeContainerHandler.handle(request));
    }

    @Override
    public void containerStatus(ContainerStatusRequest request, StreamObserver<ContainerStatusResponse> observer) {
        Rpc.unary(observer, () -> containerStatusHandler.handle(request));
    }

    @Override
    public void listContainers(ListContainersRequest request, StreamObserver<ListContainersResponse> observer) {
        Rpc.unary(observer, () -> listContainersHandler.handle(request));
    }

    @Override
    public void updateContainerResources(UpdateContainerResourcesRequest request, StreamObserver<UpdateContainerResourcesResponse> observer) {
        Rpc.unary(observer, () -> updateContainerResourcesHandler.handle(request));
    }

    @Override
    public void reopenContainerLog(ReopenContainerLogRequest request, StreamObserver<ReopenContainerLogResponse> observer) {
        Rpc.unary(observer, () -> reopenContainerLogHandler.handle(request));
    }

    @Override
    public void execSync(ExecSyncRequest request, StreamObserver<ExecSyncResponse> observer) {
        Rpc.unary(observer, () -> execSyncHandler.handle(request));
    }

    @Override
    public void exec(ExecRequest request, StreamObserver<ExecResponse> observer) {
        Rpc.unary(observer, () -> execHandler.handle(request));
    }

    @Override
    public void attach(AttachRequest request, StreamObserver<AttachResponse> observer) {
        Rpc.unary(observer, () -> attachHandler.handle(request));
    }

    @Override
    public void portForward(PortForwardRequest request, StreamObserver<PortForwardResponse> observer) {
        Rpc.unary(observer, () -> portForwardHandler.handle(request));
    }

    @Override
    public void containerStats(ContainerStatsRequest request, StreamObserver<ContainerStatsResponse> observer) {
        Rpc.unary(observer, () -> containerStatsHandler.handle(request));
    }

    @Override
    public void listContainerStats(ListContainerStatsRequest request, StreamObserver<ListContainerStatsResponse> observer) {
        Rpc.unary(observer, () -> listContainerStatsHandler.handle(request));
    }

    @Override
    public void podSandboxStats(runtime.v1.PodSandboxStatsRequest request,
            StreamObserver<runtime.v1.PodSandboxStatsResponse> observer) {
        Rpc.unary(observer, () -> podSandboxStatsHandler.handle(request));
    }

    @Override
    public void listPodSandboxStats(runtime.v1.ListPodSandboxStatsRequest request,
            StreamObserver<runtime.v1.ListPodSandboxStatsResponse> observer) {
        Rpc.unary(observer, () -> listPodSandboxStatsHandler.handle(request));
    }

    @Override
    public void streamPodSandboxes(runtime.v1.StreamPodSandboxesRequest request,
            StreamObserver<runtime.v1.StreamPodSandboxesResponse> observer) {
        RpcStream.chunked(observer, () -> streamPodSandboxesHandler.items(request),
                c -> runtime.v1.StreamPodSandboxesResponse.newBuilder().addAllPodSandboxes(c).build());
    }

    @Override
    public void streamContainers(runtime.v1.StreamContainersRequest request,
            StreamObserver<runtime.v1.StreamContainersResponse> observer) {
        RpcStream.chunked(observer, () -> streamContainersHandler.items(request),
                c -> runtime.v1.StreamContainersResponse.newBuilder().addAllContainers(c).build());
    }

    @Override
    public void streamContainerStats(runtime.v1.StreamContainerStatsRequest request,
            StreamObserver<runtime.v1.StreamContainerStatsResponse> observer) {
        RpcStream.chunked(observer, () -> streamContainerStatsHandler.items(request),
                c -> runtime.v1.StreamContainerStatsResponse.newBuilder().addAllContainerStats(c).build());
    }

    @Override
    public void streamPodSandboxStats(runtime.v1.StreamPodSandboxStatsRequest request,
            StreamObserver<runtime.v1.StreamPodSandboxStatsResponse> observer) {
        RpcStream.chunked(observer, () -> streamPodSandboxStatsHandler.items(request),
                c -> runtime.v1.StreamPodSandboxStatsResponse.newBuilder().addAllPodSandboxStats(c).build());
    }

    @Override
    public void getContainerEvents(runtime.v1.GetEventsRequest request,
            StreamObserver<runtime.v1.ContainerEventResponse> observer) {
        getContainerEventsHandler.handle(request, observer);
    }

    @Override
    public void listMetricDescriptors(runtime.v1.ListMetricDescriptorsRequest request,
            StreamObserver<runtime.v1.ListMetricDescriptorsResponse> observer) {
        Rpc.unary(observer, () -> listMetricDescriptorsHandler.handle(request));
    }

    @Override
    public void listPodSandboxMetrics(runtime.v1.ListPodSandboxMetricsRequest request,
            StreamObserver<runtime.v1.ListPodSandboxMetricsResponse> observer) {
        Rpc.unary(observer, () -> listPodSandboxMetricsHandler.handle(request));
    }

    @Override
    public void streamPodSandboxMetrics(runtime.v1.StreamPodSandboxMetricsRequest request,
            StreamObserver<runtime.v1.StreamPodSandboxMetricsResponse> observer) {
        RpcStream.chunked(observer, () -> streamPodSandboxMetricsHandler.items(request),
                c -> runtime.v1.StreamPodSandboxMetricsResponse.newBuilder().addAllPodSandboxMetrics(c).build());
    }

    @Inject
    dev.berth.server.rpc.container.CheckpointContainerHandler checkpointContainerHandler;

    @Override
    public void checkpointContainer(runtime.v1.CheckpointContainerRequest request,
            StreamObserver<runtime.v1.CheckpointContainerResponse> observer) {
        Rpc.unary(observer, () -> checkpointContainerHandler.handle(request));
    }

    @Inject
    dev.berth.server.rpc.sandbox.CheckpointPodHandler checkpointPodHandler;

    @Inject
    dev.berth.server.rpc.sandbox.RestorePodHandler restorePodHandler;

    @Override
    public void checkpointPod(runtime.v1.CheckpointPodRequest request,
            StreamObserver<runtime.v1.CheckpointPodResponse> observer) {
        Rpc.unary(observer, () -> checkpointPodHandler.handle(request));
    }

    @Override
    public void restorePod(runtime.v1.RestorePodRequest request,
            StreamObserver<runtime.v1.RestorePodResponse> observer) {
        Rpc.unary(observer, () -> restorePodHandler.handle(request));
    }

    @Override
    public void updatePodSandboxResources(runtime.v1.UpdatePodSandboxResourcesRequest request,
            StreamObserver<runtime.v1.UpdatePodSandboxResourcesResponse> observer) {
        Rpc.unary(observer, () -> updatePodSandboxResourcesHandler.handle(request));
    }
}
