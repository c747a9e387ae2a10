package dev.berth.server.rpc.runtime;

import dev.berth.server.events.ContainerEventHub;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ContainerEventResponse;
import runtime.v1.GetEventsRequest;

/** GetContainerEvents: a stream of container and pod sandbox lifecycle events until the client leaves. */
@ApplicationScoped
public class GetContainerEventsHandler {
    @Inject
    ContainerEventHub hub;

    public void handle(GetEventsRequest req, StreamObserver<ContainerEventResponse> observer) {
        hub.subscribe((ServerCallStreamObserver<ContainerEventResponse>) observer);
    }
}
