package dev.berth.server.events;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.container.ContainerRecord;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.container.LifecycleEvent;
import dev.berth.runtime.container.LifecycleListener;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.server.metrics.Meters;
import dev.berth.server.metrics.RuntimeMeters;
import dev.berth.server.rpc.container.ContainerViews;
import io.grpc.stub.ServerCallStreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import org.jboss.logging.Logger;
import runtime.v1.ContainerEventResponse;
import runtime.v1.ContainerEventType;
import runtime.v1.PodSandboxStatus;

/**
 * GetContainerEvents: lifecycle events of containers and pod sandboxes, to every subscriber, in the
 * order they happened per container.
 *
 * <p>CRI calls only hand an event to a bounded intake queue ({@link #on}); one dispatcher thread
 * adds the payload (the pod's status, its containers' statuses) and offers the response to each
 * subscriber's own bounded queue. A subscriber whose queue is full (it does not read, or reads
 * slower than events come) is dropped with a log line and {@value Meters#EVENT_SUBSCRIBERS_DROPPED};
 * its stream ends with RESOURCE_EXHAUSTED. Nothing a subscriber does can slow a CRI call or grow
 * memory without bound: a subscriber's sender writes only while gRPC says the stream is ready.
 */
@ApplicationScoped
public class ContainerEventHub implements LifecycleListener {
    private static final Logger LOG = Logger.getLogger(ContainerEventHub.class);
    static final int INTAKE_CAPACITY = 8192;

    @Inject
    ContainerService containers;

    @Inject
    SandboxManager sandboxes;

    @Inject
    MeterRegistry registry;

    @Inject
    RuntimeMeters meters;

    @Inject
    dev.berth.server.config.BerthConfig config;

    private final BlockingQueue<LifecycleEvent> intake = new ArrayBlockingQueue<>(INTAKE_CAPACITY);
    private final Set<Subscriber> subscribers = new CopyOnWriteArraySet<>();
    /** A pod's last status seen, for events of containers removed with their pod. */
    private final Map<String, PodSandboxStatus> lastPodStatus = new ConcurrentHashMap<>();
    private Counter droppedSubscribers;
    private Counter droppedEvents;
    private Thread dispatcher;
    private AutoCloseable exitWatcher;

    void start(@Observes StartupEvent event) {
        droppedSubscribers = Counter.builder(Meters.EVENT_SUBSCRIBERS_DROPPED)
                .description("GetContainerEvents subscribers dropped for not reading in time").register(registry);
        droppedEvents = Counter.builder(Meters.EVENTS_DROPPED)
                .description("lifecycle events lost because the dispatcher was behind").register(registry);
        io.micrometer.core.instrument.Gauge.builder(Meters.EVENT_SUBSCRIBERS, subscribers, Set::size)
                .description("GetContainerEvents streams open").register(registry);
        dispatcher = Thread.ofPlatform().daemon(true).name("berth-events").start(this::dispatch);
        containers.listen(this);
        sandboxes.listen(this);
        try {
            exitWatcher = containers.watchExits();
        } catch (BerthException e) {
            LOG.warnf("container exits are noticed only when asked: %s", e.getMessage());
        }
    }

    void stop(@Observes ShutdownEvent event) {
        containers.listen(null);
        sandboxes.listen(null);
        if (exitWatcher != null) {
            try {
                exitWatcher.close();
            } catch (Exception ignored) {
                // shutting down
            }
        }
        if (dispatcher != null) {
            dispatcher.interrupt();
        }
        subscribers.forEach(Subscriber::close);
    }

    /** From CRI calls: never blocks. */
    @Override
    public void on(LifecycleEvent e) {
        if (!intake.offer(e)) {
            droppedEvents.increment();
            LOG.warnf("event dispatcher is %d events behind; dropped %s of %s", INTAKE_CAPACITY, e.type(),
                    e.containerId());
        }
    }

    /** A new GetContainerEvents stream: gets every event from now on until it ends or is dropped. */
    public void subscribe(ServerCallStreamObserver<ContainerEventResponse> observer) {
        Subscriber s = new Subscriber(observer, config.eventsSubscriberQueue(), this::remove);
        subscribers.add(s);
        s.start();
    }

    private void remove(Subscriber s) {
        subscribers.remove(s);
    }

    private void dispatch() {
        while (true) {
            LifecycleEvent e;
            try {
                e = intake.take();
            } catch (InterruptedException stop) {
                return;
            }
            try {
                ContainerEventResponse resp = response(e);
                count(e, resp);
                for (Subscriber s : subscribers) {
                    if (!s.offer(resp)) {
                        subscribers.remove(s);
                        droppedSubscribers.increment();
                        LOG.warnf("dropping a GetContainerEvents subscriber: %d events queued unread (%s)",
                                config.eventsSubscriberQueue(), s.peer());
                        s.drop();
                    }
                }
            } catch (RuntimeException ex) {
                LOG.error("building a container event failed", ex);
            }
        }
    }

    private ContainerEventResponse response(LifecycleEvent e) {
        ContainerEventResponse.Builder b = ContainerEventResponse.newBuilder().setContainerId(e.containerId())
                .setContainerEventType(type(e.type())).setCreatedAt(e.atNanos());
        PodSandboxStatus pod = e.podStatus() != null ? e.podStatus() : podStatus(e.podId());
        if (pod != null) {
            b.setPodSandboxStatus(pod);
        }
        boolean podGone = e.sandbox() && e.type() == LifecycleEvent.Type.DELETED;
        if (podGone) {
            lastPodStatus.remove(e.podId());
        } else if (pod != null) {
            lastPodStatus.put(e.podId(), pod);
        }
        ContainerRecord self = e.container();
        for (ContainerRecord r : podGone ? java.util.List.<ContainerRecord>of() : containers.snapshot(e.podId())) {
            if (self != null && r.id().equals(self.id())) {
                continue; // this container as it was at the event, below
            }
            b.addContainersStatuses(ContainerViews.status(r));
        }
        if (self != null && e.type() != LifecycleEvent.Type.DELETED) {
            b.addContainersStatuses(ContainerViews.status(self));
        }
        return b.build();
    }

    /** Container starts and OOM kills by the pod's runtime handler, counted once per event. */
    private void count(LifecycleEvent e, ContainerEventResponse resp) {
        if (e.sandbox() || e.container() == null) {
            return;
        }
        String handler = resp.hasPodSandboxStatus() && !resp.getPodSandboxStatus().getRuntimeHandler().isEmpty()
                ? resp.getPodSandboxStatus().getRuntimeHandler() : config.defaultHandler();
        if (e.type() == LifecycleEvent.Type.STARTED) {
            meters.containerStarted(handler);
        } else if (e.type() == LifecycleEvent.Type.STOPPED && "OOMKilled".equals(e.container().reason())) {
            meters.containerOomKilled(handler);
        }
    }

    private PodSandboxStatus podStatus(String podId) {
        try {
            return sandboxes.status(podId, false).getStatus();
        } catch (BerthException gone) {
            return lastPodStatus.get(podId);
        }
    }

    private static ContainerEventType type(LifecycleEvent.Type t) {
        return switch (t) {
            case CREATED -> ContainerEventType.CONTAINER_CREATED_EVENT;
            case STARTED -> ContainerEventType.CONTAINER_STARTED_EVENT;
            case STOPPED -> ContainerEventType.CONTAINER_STOPPED_EVENT;
            case DELETED -> ContainerEventType.CONTAINER_DELETED_EVENT;
        };
    }
}
