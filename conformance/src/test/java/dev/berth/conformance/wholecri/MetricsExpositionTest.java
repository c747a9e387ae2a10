package dev.berth.conformance.wholecri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerResources;
import runtime.v1.PullImageRequest;

/**
 * berth's /metrics after real work (a pod on the bridge network, a container started, a pod
 * removed, a failed pull): Debian's {@code promtool check metrics} finds nothing to say, the
 * README's table lists every berth metric of the scrape and each it lists is there, and histograms
 * carry the few explicit buckets (1 ms .. 2 min).
 */
class MetricsExpositionTest {
    static final Path PROMTOOL = Path.of("/usr/bin/promtool");
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static WholeCriFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = WholeCriFixture.start("metrics");
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void liveScrapePassesPromtoolAndHasEveryMetric() throws Exception {
        var pod = f.pod("metrics-pod", false, Map.of());
        f.run(pod, "sleeper", "sleep 3600");
        boolean oomTried = false;
        if (f.hasController("memory")) {
            var c = f.config(pod, "hog", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}");
            c.getLinuxBuilder().setResources(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(16 << 20));
            String hog = f.create(pod, c.build());
            f.startContainer(hog);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && !"OOMKilled".equals(f.rt().containerStatus(
                    ContainerStatusRequest.newBuilder().setContainerId(hog).build()).getStatus().getReason())) {
                Thread.sleep(200);
            }
            oomTried = true;
        }
        f.removePod(pod.id());
        try {
            f.daemon.client().images().pullImage(PullImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(f.registry.host() + "/no/such:image")).build());
        } catch (RuntimeException expected) {
            // counted as a failed pull
        }
        String text = scrapeEventually("berth_container_starts_total{handler=\"runc\"}");

        assertTrue(value(text, "berth_container_starts_total", "handler=\"runc\"") >= 1, text);
        assertTrue(value(text, "berth_cni_operations_seconds_count", "operation=\"ADD\"") >= 1, "CNI ADD timed");
        assertTrue(value(text, "berth_cni_operations_seconds_count", "operation=\"DEL\"") >= 1, "CNI DEL timed");
        assertEquals(0, value(text, "berth_cni_errors_total", "operation=\"ADD\""), "no CNI ADD failed");
        assertEquals(0, value(text, "berth_image_pulls_in_progress", ""), "no pull running");
        assertTrue(value(text, "berth_image_pulled_bytes_total", "") > 0, "bytes of the fixture's pull counted");
        assertTrue(value(text, "berth_images", "") >= 1, "images gauge");
        assertTrue(value(text, "berth_image_pulls_total", "result=\"success\"") >= 1);
        if (oomTried) {
            assertTrue(value(text, "berth_container_oom_kills_total", "handler=\"runc\"") >= 1, "OOM kill counted");
        }
        assertTrue(!text.contains("berth_image_count"), "no gauge named *_count");

        List<String> listed = readmeMetrics();
        // ... and the other way: every berth_* series of the scrape belongs to a metric the README lists
        // (a histogram's _bucket, _count, _sum and its timer's _max gauge go with it).
        Matcher series = Pattern.compile("^(berth_[a-z_]+)[{ ]", Pattern.MULTILINE).matcher(text);
        Set<String> unlisted = new TreeSet<>();
        while (series.find()) {
            String name = series.group(1);
            if (!listed.contains(name) && !listed.contains(name.replaceFirst("_(bucket|count|sum|max|created)$", ""))) {
                unlisted.add(name);
            }
        }
        assertEquals(Set.of(), unlisted, "berth metrics the README's table does not list");
        for (String name : listed) {
            assertTrue(Pattern.compile("^" + Pattern.quote(name) + "(_bucket|_count|_sum)?[{ ]", Pattern.MULTILINE).matcher(text).find()
                    || name.equals("berth_container_oom_kills_total") && !oomTried
                    || name.equals("berth_cri_events_subscribers_dropped_total"),
                    "README lists " + name + " but the scrape lacks it");
        }

        Set<String> le = new TreeSet<>();
        Matcher m = Pattern.compile("^berth_cri_requests_seconds_bucket\\{[^}]*method=\"RunPodSandbox\"[^}]*le=\"([^\"]+)\"",
                Pattern.MULTILINE).matcher(text);
        int buckets = 0;
        while (m.find()) {
            le.add(m.group(1));
            buckets++;
        }
        assertEquals(17, buckets, "16 explicit buckets and +Inf per series: " + le);
        assertTrue(le.contains("0.001") && le.contains("120.0") && le.contains("+Inf"), le.toString());

        assertTrue(Files.isExecutable(PROMTOOL), "promtool is missing (apt-get install prometheus)");
        Process p = new ProcessBuilder(PROMTOOL.toString(), "check", "metrics").redirectErrorStream(true).start();
        p.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "promtool check metrics:\n" + out);
        assertEquals("", out.strip(), "promtool check metrics has something to say");
    }

    /** Metric names in the README's metrics table (first column, backquoted berth_*). */
    static List<String> readmeMetrics() throws Exception {
        Path readme = Path.of(System.getProperty("berth.home", "..")).resolve("README.md");
        Matcher m = Pattern.compile("^\\| `(berth_[a-z_]+)`", Pattern.MULTILINE).matcher(Files.readString(readme));
        List<String> names = new java.util.ArrayList<>();
        while (m.find()) {
            names.add(m.group(1));
        }
        assertTrue(names.size() >= 15, "README's metrics table: " + names);
        return names;
    }

    /** Events are counted by the dispatcher thread: scrape until the one we wait for shows. */
    static String scrapeEventually(String needle) throws Exception {
        String text = "";
        for (int i = 0; i < 50 && !text.contains(needle); i++) {
            // The text format promtool parses (without this Accept, Quarkus answers in OpenMetrics).
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(f.daemon.httpUrl("/metrics")))
                            .header("Accept", "text/plain; version=0.0.4").build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            text = r.body();
            Thread.sleep(100);
        }
        return text;
    }

    /** Sum of the samples of {@code name} whose labels contain {@code label} (all when empty). */
    static double value(String text, String name, String label) {
        Matcher m = Pattern.compile("^" + Pattern.quote(name) + "(\\{([^}]*)\\})? (\\S+)", Pattern.MULTILINE)
                .matcher(text);
        double sum = 0;
        while (m.find()) {
            String labels = m.group(2) == null ? "" : m.group(2);
            if (labels.contains(label)) {
                sum += Double.parseDouble(m.group(3));
            }
        }
        return sum;
    }
}
