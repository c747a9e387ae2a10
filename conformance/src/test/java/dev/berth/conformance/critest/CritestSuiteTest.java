package dev.berth.conformance.critest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.OptOut;
import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CritestKit;
import dev.berth.conformance.harness.CritestResults;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandbox;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * The Kubernetes CRI validation suite (critest v1.34, the kit in ../shared/critest) against a berth
 * daemon started as the other end-to-end tests start it: private state, socket and mount namespace.
 * critest runs inside that namespace too, so the mounts it makes "on the host" (mount propagation,
 * host paths) are the node's mounts as berth sees them.
 *
 * <p>Every spec must pass except those {@link SpecAllowance} names for this host. The per-spec
 * table (tsv, summary, JUnit XML, critest's log, the daemon's log) is kept in
 * {@code target/critest/}. A missing kit fails the test unless BERTH_SKIP_CRITEST is set.
 */
@Timeout(value = 45, unit = TimeUnit.MINUTES)
class CritestSuiteTest {
    /** The whole run took 2.5 min on 2 busy cores; a hang must not eat CI's 90 minutes. */
    static final Duration CRITEST_TIMEOUT = Duration.ofMinutes(30);

    @Test
    void everySpecThisHostAllowsPasses() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "the daemon and critest need root");
        CritestKit kit = CritestKit.locate();
        OptOut.CRITEST.require(kit.missing());
        Path report = Path.of("target", "critest").toAbsolutePath();
        Commands.run("rm", "-rf", report.toString());
        Files.createDirectories(report);

        try (CritestKit.Registry registry = kit.startRegistry(); BerthDaemon daemon = startDaemon(kit, Duration.ofSeconds(60))) {
            SpecAllowance allowance = SpecAllowance.of(daemon);
            CritestKit.Run run;
            try {
                run = kit.run(daemon.namespace()::wrap, daemon.endpoint(), report, CRITEST_TIMEOUT, List.of());
            } finally {
                removeAllPods(daemon);
                Files.writeString(report.resolve("berth-daemon.log"), daemon.logText());
            }
            CritestResults results = run.results();
            String header = "critest " + CritestKit.VERSION + " against berth: " + results.summary() + " in "
                    + run.took().toSeconds() + " s (" + allowance.describe() + "; per-spec table: "
                    + report.resolve("summary-" + CritestKit.VERSION + ".md") + ")";
            System.out.println(header);
            assertFalse(run.timedOut(), header + "\ncritest did not finish within " + CRITEST_TIMEOUT);
            List<String> violations = allowance.violations(results);
            assertTrue(violations.isEmpty(), header + "\n" + String.join("\n", violations));
            // No silent mass-skip or truncated run: every spec of the suite ran.
            assertEquals(SpecAllowance.SPECS_IN_SUITE, results.ran(), header + "\nnot every spec of the suite ran");
        }
    }

    /** A daemon as the other end-to-end tests start it, pulling through the kit's registry. */
    static BerthDaemon startDaemon(CritestKit kit, Duration startTimeout) throws IOException {
        BerthDaemon d = BerthDaemon.prepare(Map.of());
        try {
            Path conf = d.base().resolve("registries.conf");
            Files.writeString(conf, kit.registriesConf());
            d.env().put("BERTH_REGISTRIES_CONF", conf.toString());
            d.startProcess(startTimeout);
            return d;
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** critest removes its pods itself; whatever a failed spec left behind goes before the daemon stops. */
    static void removeAllPods(BerthDaemon daemon) {
        try {
            var rt = daemon.client().runtime();
            for (PodSandbox p : rt.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
                rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
                rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
            }
        } catch (RuntimeException e) {
            System.err.println("WARNING: removing the pods critest left: " + e);
        }
    }
}
