package dev.berth.conformance.wholecri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerEventResponse;
import runtime.v1.ContainerEventType;
import runtime.v1.ContainerState;
import runtime.v1.GetEventsRequest;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.StopContainerRequest;

/**
 * GetContainerEvents through CRI: a create/start/stop/remove sequence arrives in order with the
 * pod's status and the containers' statuses, pod sandboxes send their own lifecycle, a container
 * that exits by itself is reported STOPPED without anyone asking, and a subscriber that never
 * reads is dropped (log line, metric) while the others keep getting every event.
 */
class ContainerEventsTest {
    static WholeCriFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = WholeCriFixture.start("events", Map.of("BERTH_EVENTS_SUBSCRIBER_QUEUE", "4"));
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    /** A subscriber that takes every event into a queue. */
    static final class Reader implements ClientResponseObserver<GetEventsRequest, ContainerEventResponse> {
        final LinkedBlockingQueue<ContainerEventResponse> events = new LinkedBlockingQueue<>();
        ClientCallStreamObserver<GetEventsRequest> call;

        @Override
        public void beforeStart(ClientCallStreamObserver<GetEventsRequest> requestStream) {
            call = requestStream;
        }

        @Override
        public void onNext(ContainerEventResponse value) {
            events.add(value);
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }

        private final Map<String, java.util.ArrayDeque<ContainerEventResponse>> byId = new java.util.HashMap<>();

        /** The next event about {@code id} (others are kept for their own next); fails after 20 s. */
        ContainerEventResponse next(String id) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                var mine = byId.get(id);
                if (mine != null && !mine.isEmpty()) {
                    return mine.poll();
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no event for " + id + " within 20 s");
                }
                ContainerEventResponse e = events.poll(200, TimeUnit.MILLISECONDS);
                if (e != null) {
                    byId.computeIfAbsent(e.getContainerId(), k -> new java.util.ArrayDeque<>()).add(e);
                }
            }
        }
    }

    static Reader subscribe() throws InterruptedException {
        Reader r = new Reader();
        RuntimeServiceGrpc.newStub(f.daemon.client().channel()).getContainerEvents(GetEventsRequest
                .getDefaultInstance(), r);
        Thread.sleep(300); // the subscription is registered when the call reaches the server
        return r;
    }

    static void expect(Reader r, String id, ContainerEventType type, ContainerState state) throws Exception {
        ContainerEventResponse e = r.next(id);
        assertEquals(type, e.getContainerEventType(), "event for " + id + ": " + e);
        assertTrue(e.getCreatedAt() > 0);
        assertTrue(e.hasPodSandboxStatus(), e.toString());
        if (state != null) {
            var self = e.getContainersStatusesList().stream().filter(s -> s.getId().equals(id)).findFirst();
            assertTrue(self.isPresent(), "the container's own status is in its event: " + e);
            assertEquals(state, self.get().getState(), e.toString());
        }
    }

    @Test
    void lifecycleInOrderWithStatusesAndSelfExit() throws Exception {
        Reader r = subscribe();
        var pod = f.pod("ev-order", true, Map.of());
        ContainerEventResponse created = r.next(pod.id());
        assertEquals(ContainerEventType.CONTAINER_CREATED_EVENT, created.getContainerEventType());
        assertEquals("u-ev-order", created.getPodSandboxStatus().getMetadata().getUid());
        assertEquals(ContainerEventType.CONTAINER_STARTED_EVENT, r.next(pod.id()).getContainerEventType());

        String id = f.create(pod, "seq", "sleep 3600");
        expect(r, id, ContainerEventType.CONTAINER_CREATED_EVENT, ContainerState.CONTAINER_CREATED);
        f.startContainer(id);
        expect(r, id, ContainerEventType.CONTAINER_STARTED_EVENT, ContainerState.CONTAINER_RUNNING);
        f.rt().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
        expect(r, id, ContainerEventType.CONTAINER_STOPPED_EVENT, ContainerState.CONTAINER_EXITED);
        f.removeContainer(id);
        ContainerEventResponse deleted = r.next(id);
        assertEquals(ContainerEventType.CONTAINER_DELETED_EVENT, deleted.getContainerEventType());
        assertTrue(deleted.getContainersStatusesList().stream().noneMatch(s -> s.getId().equals(id)));

        // exits by itself; nobody asks for its status
        String quitter = f.run(pod, "quitter", "sleep 1; exit 3");
        expect(r, quitter, ContainerEventType.CONTAINER_CREATED_EVENT, null);
        expect(r, quitter, ContainerEventType.CONTAINER_STARTED_EVENT, null);
        ContainerEventResponse exited = r.next(quitter);
        assertEquals(ContainerEventType.CONTAINER_STOPPED_EVENT, exited.getContainerEventType());
        var st = exited.getContainersStatusesList().stream().filter(s -> s.getId().equals(quitter)).findFirst()
                .orElseThrow();
        assertEquals(3, st.getExitCode());
        assertEquals(ContainerState.CONTAINER_EXITED, st.getState());

        f.removePod(pod.id());
        expect(r, quitter, ContainerEventType.CONTAINER_DELETED_EVENT, null);
        ContainerEventResponse podStopped = r.next(pod.id());
        assertEquals(ContainerEventType.CONTAINER_STOPPED_EVENT, podStopped.getContainerEventType());
        ContainerEventResponse podDeleted = r.next(pod.id());
        assertEquals(ContainerEventType.CONTAINER_DELETED_EVENT, podDeleted.getContainerEventType());
        assertEquals(pod.id(), podDeleted.getPodSandboxStatus().getId());
        r.call.cancel("done", null);
    }

    @Test
    void aSubscriberThatNeverReadsIsDroppedAndOthersGetEverything() throws Exception {
        Reader reader = subscribe();
        // a client that never asks for a message, on a channel with a small flow-control window
        EpollEventLoopGroup loop = new EpollEventLoopGroup(1);
        ManagedChannel stuckChannel = NettyChannelBuilder.forAddress(new DomainSocketAddress(f.daemon.socket()
                .toString())).channelType(EpollDomainSocketChannel.class).eventLoopGroup(loop).usePlaintext()
                .flowControlWindow(4096).build();
        AtomicInteger stuckGot = new AtomicInteger();
        try {
            RuntimeServiceGrpc.newStub(stuckChannel).getContainerEvents(GetEventsRequest.getDefaultInstance(),
                    new ClientResponseObserver<GetEventsRequest, ContainerEventResponse>() {
                        @Override
                        public void beforeStart(ClientCallStreamObserver<GetEventsRequest> s) {
                            s.disableAutoRequestWithInitial(0);
                        }

                        @Override
                        public void onNext(ContainerEventResponse value) {
                            stuckGot.incrementAndGet();
                        }

                        @Override
                        public void onError(Throwable t) {
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
            Thread.sleep(300);
            var pod = f.pod("ev-flood", true, Map.of());
            List<String> ids = new ArrayList<>();
            long slowest = 0;
            for (int i = 0; i < 25; i++) {
                long t0 = System.nanoTime();
                String id = f.create(pod, "flood-" + i, "sleep 3600");
                slowest = Math.max(slowest, System.nanoTime() - t0);
                ids.add(id);
            }
            for (String id : ids) {
                f.removeContainer(id);
            }
            for (String id : ids) {
                assertEquals(ContainerEventType.CONTAINER_CREATED_EVENT, reader.next(id).getContainerEventType());
                // removing a created container ends its (runtime) process first: STOPPED, then DELETED
                assertEquals(ContainerEventType.CONTAINER_STOPPED_EVENT, reader.next(id).getContainerEventType());
                assertEquals(ContainerEventType.CONTAINER_DELETED_EVENT, reader.next(id).getContainerEventType());
            }
            assertEquals(0, stuckGot.get(), "the stuck client never asked for a message");
            String log = "";
            for (int i = 0; i < 50 && !log.contains("dropping a GetContainerEvents subscriber"); i++) {
                Thread.sleep(100);
                log = f.daemon.logText();
            }
            assertTrue(log.contains("dropping a GetContainerEvents subscriber"), "drop logged");
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    f.daemon.httpUrl("/metrics"))).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("berth_cri_events_subscribers_dropped_total")
                    && !l.endsWith(" 0.0")), metrics.lines().filter(l -> l.contains("events")).toList().toString());
            assertTrue(slowest < TimeUnit.SECONDS.toNanos(20), "CreateContainer was held up");
            f.removePod(pod.id());
            // the dropped stream is gone; new subscribers still get events
            Reader late = subscribe();
            var again = f.pod("ev-after", true, Map.of());
            assertEquals(ContainerEventType.CONTAINER_CREATED_EVENT, late.next(again.id()).getContainerEventType());
            f.removePod(again.id());
            reader.call.cancel("done", null);
            late.call.cancel("done", null);
        } finally {
            stuckChannel.shutdownNow();
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
