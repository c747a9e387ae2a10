package dev.berth.conformance.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import runtime.v1.PodSandboxConfig;

/**
 * The bounded CI variant of {@code ./berth soak chaos}: 40 pod cycles with 4 in flight and 3 kill -9
 * of the daemon at random points; every acknowledged pod and container is reported truthfully
 * after each restart and is removable, and the census after equals the census before.
 */
class SoakCiTest {

    @Test
    void fortyCyclesWithThreeDaemonKillsLoseAndLeakNothing() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        assumeTrue(LocalRegistry.available() && TestImages.available(), "needs docker-registry and busybox-static");
        try (Soak.Setup s = Soak.Setup.start(Map.of())) {
            // the census must see what one running pod holds, or "no difference" would prove nothing
            Census empty = Census.take(s.daemon());
            PodSandboxConfig pc = PodCycle.podConfig(s.daemon(), 0, "census");
            String pod = Chaos.runPod(s.daemon(), pc, "");
            Chaos.createStart(s.daemon(), pod, pc, s.image(), "c");
            String seen = String.join("\n", Census.take(s.daemon()).differencesFrom(empty));
            for (String kind : List.of("mounts", "netns", "veths", "IPAM leases", "cgroups", "runtime state",
                    "pod/ctr dirs", "conmon processes")) {
                assertTrue(seen.contains(kind + ":"), "a running pod shows in the census as " + kind + ":\n" + seen);
            }
            List<String> v = new ArrayList<>();
            Chaos.removePod(s.daemon(), pod, v);
            assertEquals(List.of(), v);

            List<String> violations = Soak.loop(s, 40, 4, 3, System.nanoTime());
            // the daemon's log goes with its directory: what it warned of explains a violation
            assertEquals(List.of(), violations, () -> "daemon warnings and errors:\n" + s.daemon().logText().lines()
                    .filter(l -> (l.contains(" WARN ") || l.contains(" ERROR ")) && !l.contains("CheckpointSupport"))
                    .limit(60).collect(java.util.stream.Collectors.joining("\n")));
        }
    }
}
