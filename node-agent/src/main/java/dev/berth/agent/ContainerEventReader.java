package dev.berth.agent;

import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.logging.Logger;
import runtime.v1.ContainerEventResponse;
import runtime.v1.ContainerEventType;
import runtime.v1.ContainerStatus;
import runtime.v1.GetEventsRequest;
import runtime.v1.PodSandboxStatus;

/**
 * Follows berth's GetContainerEvents and turns OOM kills and container restarts into Events on
 * the container's Pod. Resubscribes with a growing pause (1 s to 5 s: events while unsubscribed are
 * lost, and a try on the local socket costs nothing) whenever the stream ends (berth restarted, or
 * dropped a slow subscriber). {@link #onNext} only hands events on.
 */
final class ContainerEventReader {
    private static final Logger LOG = Logger.getLogger(ContainerEventReader.class.getName());

    private final CriConnection cri;
    private final EventPoster events;
    private final Runnable onEvent;
    private volatile boolean stopped;
    private Thread thread;

    ContainerEventReader(CriConnection cri, EventPoster events, Runnable onEvent) {
        this.cri = cri;
        this.events = events;
        this.onEvent = onEvent;
    }

    void start() {
        thread = Thread.ofPlatform().daemon(true).name("berth-agent-events-in").start(this::loop);
    }

    void stop() {
        stopped = true;
        if (thread != null) {
            thread.interrupt();
        }
    }

    private void loop() {
        Duration pause = Duration.ofSeconds(1);
        while (!stopped) {
            var done = new java.util.concurrent.CountDownLatch(1);
            var received = new java.util.concurrent.atomic.AtomicBoolean();
            cri.streaming().getContainerEvents(GetEventsRequest.getDefaultInstance(), new StreamObserver<>() {
                @Override
                public void onNext(ContainerEventResponse e) {
                    received.set(true);
                    handle(e);
                }

                @Override
                public void onError(Throwable t) {
                    LOG.fine("container event stream ended: " + t.getMessage());
                    done.countDown();
                }

                @Override
                public void onCompleted() {
                    done.countDown();
                }
            });
            try {
                done.await();
                pause = received.get() ? Duration.ofSeconds(1) : min(pause.multipliedBy(2), Duration.ofSeconds(5));
                Thread.sleep(pause);
            } catch (InterruptedException stop) {
                return;
            }
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) < 0 ? a : b;
    }

    void handle(ContainerEventResponse e) {
        onEvent.run();
        PodSandboxStatus pod = e.getPodSandboxStatus();
        if (!e.hasPodSandboxStatus() || pod.getId().equals(e.getContainerId())) {
            return; // a pod sandbox's own event
        }
        ContainerStatus self = e.getContainersStatusesList().stream()
                .filter(c -> c.getId().equals(e.getContainerId())).findFirst().orElse(null);
        if (self == null) {
            return;
        }
        var meta = pod.getMetadata();
        var about = KubeNode.podRef(meta.getNamespace(), meta.getName(), meta.getUid(), self.getMetadata().getName());
        if (e.getContainerEventType() == ContainerEventType.CONTAINER_STOPPED_EVENT
                && "OOMKilled".equals(self.getReason())) {
            events.post(about, "Warning", "OOMKilled", "container " + self.getMetadata().getName()
                    + " was killed by the kernel: out of memory (berth)");
        } else if (e.getContainerEventType() == ContainerEventType.CONTAINER_STARTED_EVENT
                && self.getMetadata().getAttempt() > 0) {
            events.post(about, "Normal", "ContainerRestarted", "container " + self.getMetadata().getName()
                    + " started again (restart " + self.getMetadata().getAttempt() + ", berth)");
        }
    }
}
