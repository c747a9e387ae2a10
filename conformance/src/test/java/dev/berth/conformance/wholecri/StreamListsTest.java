package dev.berth.conformance.wholecri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerFilter;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStateValue;
import runtime.v1.ContainerStatsFilter;
import runtime.v1.ListContainerStatsRequest;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListImagesRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.ListPodSandboxStatsRequest;
import runtime.v1.PodSandboxFilter;
import runtime.v1.PodSandboxStatsFilter;
import runtime.v1.StreamContainerStatsRequest;
import runtime.v1.StreamContainersRequest;
import runtime.v1.StreamImagesRequest;
import runtime.v1.StreamPodSandboxStatsRequest;
import runtime.v1.StreamPodSandboxesRequest;

/**
 * Each Stream* RPC sends the same items as its List RPC, with the same filters, in more than one
 * bounded message once there are many: 500 containers (created, not started: cheap) in 5 pods.
 * The count can be lowered with -Dberth.stream.containers for a quick run.
 */
class StreamListsTest {
    static final int CONTAINERS = Integer.getInteger("berth.stream.containers", 500);
    static final int PODS = 5;
    static WholeCriFixture f;
    static final List<WholeCriFixture.Pod> pods = new ArrayList<>();
    static final ConcurrentLinkedQueue<String> started = new ConcurrentLinkedQueue<>();

    @BeforeAll
    static void start() throws Exception {
        f = WholeCriFixture.start("streams");
        for (int p = 0; p < PODS; p++) {
            pods.add(f.pod("streams-" + p, true, Map.of("group", p % 2 == 0 ? "even" : "odd")));
        }
        List<Thread> creators = new ArrayList<>();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            creators.add(Thread.ofVirtual().start(() -> {
                try {
                    for (int i = thread; i < CONTAINERS; i += 4) {
                        var pod = pods.get(i % PODS);
                        f.create(pod, f.config(pod, "c" + i, "sleep 3600")
                                .putLabels("parity", i % 2 == 0 ? "even" : "odd").build());
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread t : creators) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.get(0));
        }
        // two running containers, so the state filter and the stats have something to tell apart
        for (var c : f.rt().listContainers(ListContainersRequest.newBuilder().setFilter(ContainerFilter.newBuilder()
                .setPodSandboxId(pods.get(0).id())).build()).getContainersList().subList(0, 2)) {
            f.startContainer(c.getId());
            started.add(c.getId());
        }
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    /** Every message of a server stream, checked to be bounded; returns the items in order. */
    static <R, I> List<I> drain(Iterator<R> stream, Function<R, List<I>> items, int[] messages) {
        List<I> out = new ArrayList<>();
        while (stream.hasNext()) {
            List<I> chunk = items.apply(stream.next());
            assertTrue(chunk.size() <= 200, "a chunk of " + chunk.size() + " items");
            out.addAll(chunk);
            messages[0]++;
        }
        return out;
    }

    @Test
    void containersInChunksAsListed() {
        List<ContainerFilter> filters = List.of(ContainerFilter.getDefaultInstance(),
                ContainerFilter.newBuilder().setPodSandboxId(pods.get(1).id()).build(),
                ContainerFilter.newBuilder().putLabelSelector("parity", "odd").build(),
                ContainerFilter.newBuilder().setState(ContainerStateValue.newBuilder()
                        .setState(ContainerState.CONTAINER_RUNNING)).build());
        for (ContainerFilter filter : filters) {
            List<String> listed = f.rt().listContainers(ListContainersRequest.newBuilder().setFilter(filter).build())
                    .getContainersList().stream().map(c -> c.getId()).sorted().toList();
            int[] messages = {0};
            List<String> streamed = drain(f.rt().streamContainers(StreamContainersRequest.newBuilder()
                    .setFilter(filter).build()), r -> r.getContainersList(), messages)
                    .stream().map(c -> c.getId()).sorted().toList();
            assertEquals(listed, streamed, "filter " + filter);
            if (filter.equals(ContainerFilter.getDefaultInstance())) {
                assertEquals(CONTAINERS, streamed.size());
                assertTrue(messages[0] >= (CONTAINERS + 199) / 200, messages[0] + " messages");
            }
        }
        assertEquals(2, f.rt().listContainers(ListContainersRequest.newBuilder().setFilter(filters.get(3)).build())
                .getContainersCount());
    }

    @Test
    void containerStatsInChunksAsListed() {
        for (ContainerStatsFilter filter : List.of(ContainerStatsFilter.getDefaultInstance(),
                ContainerStatsFilter.newBuilder().setPodSandboxId(pods.get(2).id()).build(),
                ContainerStatsFilter.newBuilder().putLabelSelector("parity", "even").build())) {
            List<String> listed = f.rt().listContainerStats(ListContainerStatsRequest.newBuilder().setFilter(filter)
                    .build()).getStatsList().stream().map(s -> s.getAttributes().getId()).sorted().toList();
            int[] messages = {0};
            List<String> streamed = drain(f.rt().streamContainerStats(StreamContainerStatsRequest.newBuilder()
                    .setFilter(filter).build()), r -> r.getContainerStatsList(), messages)
                    .stream().map(s -> s.getAttributes().getId()).sorted().toList();
            assertEquals(listed, streamed, "filter " + filter);
            assertTrue(!streamed.isEmpty());
        }
    }

    @Test
    void podsPodStatsAndImagesAsListed() {
        for (PodSandboxFilter filter : List.of(PodSandboxFilter.getDefaultInstance(),
                PodSandboxFilter.newBuilder().putLabelSelector("group", "even").build(),
                PodSandboxFilter.newBuilder().setId(pods.get(3).id().substring(0, 10)).build())) {
            List<String> listed = f.rt().listPodSandbox(ListPodSandboxRequest.newBuilder().setFilter(filter).build())
                    .getItemsList().stream().map(p -> p.getId()).sorted().toList();
            List<String> streamed = drain(f.rt().streamPodSandboxes(StreamPodSandboxesRequest.newBuilder()
                    .setFilter(filter).build()), r -> r.getPodSandboxesList(), new int[1])
                    .stream().map(p -> p.getId()).sorted().toList();
            assertEquals(listed, streamed, "filter " + filter);
        }
        assertEquals(3, drain(f.rt().streamPodSandboxes(StreamPodSandboxesRequest.newBuilder().setFilter(
                PodSandboxFilter.newBuilder().putLabelSelector("group", "even")).build()),
                r -> r.getPodSandboxesList(), new int[1]).size());
        for (PodSandboxStatsFilter filter : List.of(PodSandboxStatsFilter.getDefaultInstance(),
                PodSandboxStatsFilter.newBuilder().putLabelSelector("group", "odd").build())) {
            List<String> listed = f.rt().listPodSandboxStats(ListPodSandboxStatsRequest.newBuilder().setFilter(filter)
                    .build()).getStatsList().stream().map(s -> s.getAttributes().getId()).sorted().toList();
            var streamedStats = drain(f.rt().streamPodSandboxStats(StreamPodSandboxStatsRequest.newBuilder()
                    .setFilter(filter).build()), r -> r.getPodSandboxStatsList(), new int[1]);
            assertEquals(listed, streamedStats.stream().map(s -> s.getAttributes().getId()).sorted().toList());
            assertTrue(!listed.isEmpty());
            int inside = streamedStats.stream().mapToInt(s -> s.getLinux().getContainersCount()).sum();
            assertTrue(inside > 0, "containers' stats inside the pods' stats");
        }
        List<String> images = f.daemon.client().images().listImages(ListImagesRequest.getDefaultInstance())
                .getImagesList().stream().map(i -> i.getId()).sorted().toList();
        List<String> streamedImages = drain(f.daemon.client().images().streamImages(
                StreamImagesRequest.getDefaultInstance()), r -> r.getImagesList(), new int[1])
                .stream().map(i -> i.getId()).sorted().toList();
        assertEquals(images, streamedImages);
        assertEquals(1, streamedImages.size());
    }
}
