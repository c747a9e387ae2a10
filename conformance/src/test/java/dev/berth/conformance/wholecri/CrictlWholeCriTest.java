package dev.berth.conformance.wholecri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.StopContainerRequest;

/**
 * crictl v1.34 (the critest kit's) against a berth daemon, as an operator uses it: {@code stats},
 * {@code statsp} (tables and JSON), {@code metricsp}, {@code events} (a running stream that sees a
 * container's lifecycle) and {@code checkpoint} (an archive where CRIU works, CRIU's reason where
 * it does not). Fails when the kit's crictl is missing, as the critest runs do, unless
 * BERTH_SKIP_CRITEST opts out.
 */
class CrictlWholeCriTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static WholeCriFixture f;
    static WholeCriFixture.Pod pod;
    static String burner;
    static String sleeper;

    static Path crictl() {
        Path home = Path.of(System.getProperty("berth.home", "..")).toAbsolutePath().normalize();
        return home.resolveSibling("shared").resolve("critest").resolve("bin").resolve("crictl");
    }

    @BeforeAll
    static void start() throws Exception {
        String skip = System.getenv("BERTH_SKIP_CRITEST");
        assumeTrue(skip == null || skip.isBlank() || skip.equals("0"), "BERTH_SKIP_CRITEST is set");
        assertTrue(Files.isExecutable(crictl()), "no crictl at " + crictl() + " (the critest kit, ../shared/critest); "
                + "BERTH_SKIP_CRITEST=1 opts out");
        f = WholeCriFixture.start("crictl", Map.of("BERTH_STREAM_PORT", "0"));
        pod = f.pod("crictl-pod", false, Map.of("app", "crictl"));
        burner = f.run(pod, "burner", "while true; do :; done");
        sleeper = f.run(pod, "sleeper", "echo hi > /written; sleep 3600");
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    record Run(int exit, String out, String err) {}

    static List<String> argv(String... args) {
        List<String> cmd = new ArrayList<>(List.of(crictl().toString(), "--runtime-endpoint", f.daemon.endpoint(),
                "--image-endpoint", f.daemon.endpoint(), "--timeout", "60s"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static Run crictl(String... args) throws Exception {
        Process p = new ProcessBuilder(argv(args)).start();
        p.getOutputStream().close();
        byte[][] errBytes = new byte[1][];
        Thread err = Thread.ofVirtual().start(() -> {
            try {
                errBytes[0] = p.getErrorStream().readAllBytes();
            } catch (java.io.IOException e) {
                errBytes[0] = new byte[0];
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "crictl " + String.join(" ", args) + " did not end");
        err.join();
        Run r = new Run(p.exitValue(), out, new String(errBytes[0], StandardCharsets.UTF_8));
        System.out.println("crictl " + String.join(" ", args) + " -> " + r.exit() + "\n" + r.out() + r.err());
        return r;
    }

    static JsonNode json(String... args) throws Exception {
        Run r = crictl(args);
        assertEquals(0, r.exit(), r.err());
        return JSON.readTree(r.out());
    }

    /**
     * The table row holding {@code key}, split on runs of two or more spaces; crictl clears the
     * screen (ESC[2J ESC[H) before the header.
     */
    static String[] row(String table, String key) {
        return table.replaceAll("\u001b\\[[0-9;]*[A-Za-z]", "").lines().filter(l -> l.contains(key)).findFirst()
                .map(l -> l.strip().split("\\s{2,}"))
                .orElseThrow(() -> new AssertionError("no row for " + key + " in\n" + table));
    }

    @Test
    void statsShowsEveryContainerWithCpuMemoryAndDisk() throws Exception {
        JsonNode stats = json("stats", "-o", "json");
        List<String> ids = new ArrayList<>();
        for (JsonNode s : stats.path("stats")) {
            ids.add(s.path("attributes").path("id").asText());
        }
        assertTrue(ids.containsAll(List.of(burner, sleeper)), ids.toString());
        for (JsonNode s : stats.path("stats")) {
            if (s.path("attributes").path("id").asText().equals(sleeper)) {
                assertEquals("sleeper", s.path("attributes").path("metadata").path("name").asText());
                assertTrue(s.path("writableLayer").path("usedBytes").path("value").asLong() > 0, s.toString());
                assertTrue(s.path("writableLayer").path("inodesUsed").path("value").asLong() > 0, s.toString());
            }
            if (s.path("attributes").path("id").asText().equals(burner)) {
                assertTrue(s.path("cpu").path("usageCoreNanoSeconds").path("value").asLong() > 0, s.toString());
            }
        }
        Run table = crictl("stats", "--id", burner);
        assertEquals(0, table.exit(), table.err());
        assertEquals(List.of("CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES", "SWAP"),
                List.of(row(table.out(), "CONTAINER")));
        String[] r = row(table.out(), "burner");
        assertTrue(burner.startsWith(r[0]), r[0]);
        assertTrue(Double.parseDouble(r[2]) > 5.0, "a busy loop shows CPU %: " + String.join(" | ", r));
    }

    @Test
    void statspShowsThePodWithItsContainersAndNetwork() throws Exception {
        JsonNode stats = json("statsp", "--label", "app=crictl", "-o", "json");
        assertEquals(1, stats.path("stats").size(), stats.toString());
        JsonNode s = stats.path("stats").get(0);
        assertEquals(pod.id(), s.path("attributes").path("id").asText());
        assertEquals("crictl-pod", s.path("attributes").path("metadata").path("name").asText());
        assertTrue(s.path("linux").path("cpu").path("usageCoreNanoSeconds").path("value").asLong() > 0, s.toString());
        assertEquals(2, s.path("linux").path("containers").size(), s.toString());
        assertTrue(s.path("linux").path("network").path("interfaces").size() > 0
                || s.path("linux").path("network").has("defaultInterface"), "pod network stats: " + s);
        assertEquals(0, json("statsp", "--label", "app=nothing", "-o", "json").path("stats").size());

        Run table = crictl("statsp", "--id", pod.id());
        assertEquals(0, table.exit(), table.err());
        assertEquals(List.of("POD", "POD ID", "CPU %", "MEM"), List.of(row(table.out(), "POD ID")));
        String[] r = row(table.out(), "crictl-pod");
        assertTrue(pod.id().startsWith(r[1]), r[1]);
        assertTrue(Double.parseDouble(r[2]) > 5.0, "the pod's busy loop shows CPU %: " + String.join(" | ", r));
    }

    @Test
    void metricspServesCadvisorNamedMetricsOfThePod() throws Exception {
        JsonNode m = json("metricsp");
        JsonNode ours = null;
        for (JsonNode p : m.path("podMetrics")) {
            if (p.path("podSandboxId").asText().equals(pod.id())) {
                ours = p;
            }
        }
        assertTrue(ours != null, "no metrics of pod " + pod.id() + ": " + m);
        String text = ours.toString();
        for (String name : List.of("container_cpu_usage_seconds_total", "container_network_receive_bytes_total")) {
            assertTrue(text.contains("\"" + name + "\""), name + " missing from " + text);
        }
        assertTrue(text.contains(burner), "per-container metrics name the container: " + text);
    }

    @Test
    void eventsStreamsAContainersLifecycleInOrder() throws Exception {
        // stdout only: crictl logs its warnings (no /etc/crictl.yaml) on stderr
        Process p = new ProcessBuilder(argv("events", "-o", "json"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().close();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String l = r.readLine(); l != null; l = r.readLine()) {
                    lines.add(l);
                }
            } catch (java.io.IOException ended) {
                // the process was ended below
            }
        });
        try {
            Thread.sleep(1500); // the stream is open before the first event
            String id = f.run(pod, "evented", "sleep 3600");
            f.rt().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
            f.removeContainer(id);
            List<String> wanted = List.of("CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT",
                    "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT");
            StringBuilder out = new StringBuilder();
            List<String> seen = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            Pattern event = Pattern.compile("\"containerEventType\":\\s*\"(\\w+)\"");
            while (seen.size() < wanted.size() && System.nanoTime() < deadline) {
                String l = lines.poll(1, TimeUnit.SECONDS);
                if (l == null) {
                    continue;
                }
                out.append(l).append('\n');
                // one JSON document per event; an event is ours once its document is complete
                if (l.equals("}")) {
                    JsonNode e = JSON.readTree(out.toString());
                    out.setLength(0);
                    if (e.path("containerId").asText().equals(id)) {
                        seen.add(e.path("containerEventType").asText());
                        assertEquals(pod.id(), e.path("podSandboxStatus").path("id").asText(), e.toString());
                    }
                } else {
                    Matcher m = event.matcher(l);
                    assertFalse(m.find() && !m.group(1).startsWith("CONTAINER_"), l);
                }
            }
            assertEquals(wanted, seen, "events of container " + id);
            assertTrue(p.isAlive(), "crictl events keeps streaming");
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
            reader.join(5000);
        }
    }

    @Test
    void checkpointWritesTheArchiveOrNamesCriusReason() throws Exception {
        Process check = new ProcessBuilder("criu", "check").redirectErrorStream(true).start();
        check.getOutputStream().close();
        String verdict = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        check.waitFor(60, TimeUnit.SECONDS);
        boolean works = check.exitValue() == 0 && verdict.contains("Looks good");
        Path archive = f.daemon.base().resolve("crictl-checkpoint.tar");
        Run r = crictl("checkpoint", "--export=" + archive, sleeper);
        if (works) {
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains(sleeper), r.out());
            assertTrue(Files.size(archive) > 0);
        } else {
            assertNotEquals(0, r.exit());
            String reason = verdict.lines().filter(l -> l.startsWith("Error")).findFirst().orElseThrow()
                    .replaceFirst("^Error \\([^)]*\\): ", "").strip();
            assertTrue(r.err().contains("FailedPrecondition") && r.err().contains(reason), r.err());
            assertFalse(Files.exists(archive));
        }
        Run missing = crictl("checkpoint", sleeper);
        assertNotEquals(0, missing.exit());
        assertTrue(missing.err().contains("--export"), missing.err());
    }
}
