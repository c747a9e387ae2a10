package dev.berth.agent;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import runtime.v1.StatusRequest;
import runtime.v1.VersionRequest;

/**
 * berth's node agent: every status interval (and soon after each container event) it asks berth
 * for Version and Status and brings its Node up to date (label, annotations, BerthRuntimeReady);
 * it follows GetContainerEvents for OOM kills and restarts and berth's metrics for pull failures,
 * posting Events. It writes to the API server only what changed; a failed write is retried at the
 * next tick. Nothing it does can hold up berth: it is only a CRI client with deadlines.
 */
public final class NodeAgent implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NodeAgent.class.getName());

    private final AgentSettings settings;
    private final KubeNode kube;
    private final CriConnection cri;
    private final EventPoster events;
    private final ContainerEventReader reader;
    private final PullFailureWatcher pulls;
    private final ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon(true).name("berth-agent-status").factory());

    private Map<String, String> appliedMetadata = Map.of();
    private NodeReport.Condition appliedCondition;
    private Instant transition = Instant.now();
    private volatile boolean refreshQueued;

    public NodeAgent(AgentSettings settings, KubernetesClient client) {
        this.settings = settings;
        this.kube = new KubeNode(client, settings.nodeName());
        this.cri = new CriConnection(settings.socket());
        this.events = new EventPoster(kube, settings.eventsPerMinute());
        this.reader = new ContainerEventReader(cri, events, this::refreshSoon);
        this.pulls = new PullFailureWatcher(settings.metricsUrl());
    }

    public void start() {
        reader.start();
        ticks.scheduleWithFixedDelay(this::tick, 0, settings.statusInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** After a container event: one extra Status look a second later, however many events came. */
    private void refreshSoon() {
        if (!refreshQueued) {
            refreshQueued = true;
            ticks.schedule(() -> {
                refreshQueued = false;
                tick();
            }, 1, TimeUnit.SECONDS);
        }
    }

    /** One look at berth and one update of the Node; never throws (the schedule would stop). */
    void tick() {
        NodeReport.Condition condition;
        Map<String, String> labels = new HashMap<>();
        Map<String, String> annotations = new HashMap<>();
        try {
            var version = cri.unary().version(VersionRequest.getDefaultInstance());
            var status = cri.unary().status(StatusRequest.newBuilder().setVerbose(true).build());
            NodeReport r = NodeReport.of(settings, version, status);
            labels.putAll(r.labels());
            annotations.putAll(r.annotations());
            condition = r.condition();
        } catch (RuntimeException e) {
            condition = NodeReport.unreachable(e.getMessage());
            labels.put(settings.labelKey(), null); // nothing to schedule RuntimeClass pods onto here
        }
        try {
            apply(labels, annotations, condition);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot update Node " + settings.nodeName() + ": " + e.getMessage());
        }
        pullFailures();
    }

    private void apply(Map<String, String> labels, Map<String, String> annotations, NodeReport.Condition c) {
        Map<String, String> metadata = new HashMap<>();
        labels.forEach((k, v) -> metadata.put("label:" + k, v));
        annotations.forEach((k, v) -> metadata.put("annotation:" + k, v));
        if (!metadata.equals(appliedMetadata)) {
            kube.patchMetadata(labels, annotations);
            appliedMetadata = metadata;
        }
        if (!c.equals(appliedCondition)) {
            if (appliedCondition == null || !appliedCondition.status().equals(c.status())) {
                transition = Instant.now();
            }
            kube.patchCondition(c, transition);
            if (appliedCondition != null) {
                LOG.info(NodeReport.CONDITION + " " + c.status() + " (" + c.reason() + "): " + c.message());
            }
            appliedCondition = c;
        }
    }

    private void pullFailures() {
        Map<String, Long> failed = pulls.newFailures();
        if (!failed.isEmpty()) {
            long n = failed.values().stream().mapToLong(Long::longValue).sum();
            StringBuilder by = new StringBuilder();
            failed.forEach((result, count) -> by.append(by.isEmpty() ? "" : ", ").append(result).append(": ")
                    .append(count));
            events.post(kube.nodeRef(), "Warning", "ImagePullFailed",
                    n + " image pull(s) failed on this node (" + by + "); see the pods' events for the images");
        }
    }

    /** Events posted and dropped so far (for tests and logs). */
    long[] eventCounts() {
        return new long[] {events.posted(), events.dropped()};
    }

    @Override
    public void close() {
        ticks.shutdownNow();
        reader.stop();
        events.close();
        cri.close();
    }

    /** In a pod: in-cluster credentials (the service account), settings from the environment. */
    public static void main(String[] args) throws InterruptedException {
        AgentSettings settings = AgentSettings.fromEnv(System.getenv());
        KubernetesClient client = new KubernetesClientBuilder().build();
        NodeAgent agent = new NodeAgent(settings, client);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            client.close();
        }));
        LOG.info("berth node agent for Node " + settings.nodeName() + " on " + settings.socket());
        agent.start();
        Thread.currentThread().join();
    }
}
