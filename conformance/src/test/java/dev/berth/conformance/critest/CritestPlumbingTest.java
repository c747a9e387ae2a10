package dev.berth.conformance.critest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.conformance.harness.CritestKit;
import dev.berth.conformance.harness.CritestResults;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parts of the critest run that need no daemon: kit checks, registries.conf, result table, allowances. */
class CritestPlumbingTest {
    static final String HEADER = "status\tseconds\tname\treason\n";
    static final String DIGEST = "[It] [k8s.io] Image Manager public image with digest should be pulled and removed [Conformance]";
    static final String OOM = "[It] [k8s.io] Container OOM runtime should output OOMKilled reason should terminate with exitCode 137 and reason OOMKilled";
    static final String APPARMOR = "[It] [k8s.io] AppArmor runtime should support apparmor field should fail with an unloaded apparmor_profile";
    static final String STOP = "[It] [k8s.io] Idempotence StopContainer should not return an error if not found";

    @Test
    void anAbsentKitIsNamedWithWhereItBelongs(@TempDir Path dir) {
        String why = CritestKit.at(dir.resolve("critest"), "127.0.0.1:5999", dir).missing().orElseThrow();
        assertTrue(why.contains("bin/critest is missing") && why.contains("../shared/critest"), why);
    }

    @Test
    void registriesConfSendsEveryUpstreamHostToTheKitRegistry(@TempDir Path dir) {
        String conf = CritestKit.at(dir, "127.0.0.1:5999", dir).registriesConf();
        for (String host : List.of("registry.k8s.io", "gcr.io", "docker.io", "public.ecr.aws")) {
            assertTrue(conf.contains("prefix = \"" + host + "\"\nlocation = \"127.0.0.1:5999\"\ninsecure = true"), conf);
        }
        assertEquals(4, conf.split("\\[\\[registry]]", -1).length - 1, conf);
    }

    @Test
    void onlyTheSpecsThisHostRulesOutAreExcused(@TempDir Path dir) throws Exception {
        Path tsv = dir.resolve("results-1.34.tsv");
        Files.writeString(tsv, HEADER
                + "failed\t0.01\t" + DIGEST + "\tfailed to pull image: NotFound\n"
                + "failed\t0.40\t" + OOM + "\tthe memory cgroup controller is not available\n"
                + "skipped\t0.00\t" + APPARMOR + "\tskipped - AppArmor is disabled on this host\n"
                + "failed\t0.00\t" + STOP + "\tNotFound (ids are lowercase hex)\n"
                + "passed\t1.20\t[It] [k8s.io] Container runtime should support basic operations\t\n"
                + "filtered\t0.00\t[It] [k8s.io] Benchmark something\t\n");
        CritestResults r = CritestResults.parse(tsv);
        assertEquals("1 passed, 3 failed, 1 skipped", r.summary());
        assertEquals(5, r.ran());

        List<String> hybridHost = new SpecAllowance(false, false).violations(r);
        assertEquals(1, hybridHost.size(), hybridHost.toString());
        assertTrue(hybridHost.getFirst().startsWith("1 failed spec(s) not allowed here") && hybridHost.getFirst().contains(STOP),
                hybridHost.toString());

        // With a memory controller the OOMKilled spec must pass; with AppArmor its specs must run.
        String v2Host = String.join("\n", new SpecAllowance(true, true).violations(r));
        assertTrue(v2Host.contains("2 failed spec(s)") && v2Host.contains(OOM) && v2Host.contains(STOP), v2Host);
        assertTrue(v2Host.contains("1 skipped spec(s)") && v2Host.contains(APPARMOR), v2Host);
        assertFalse(v2Host.contains(DIGEST), "the digest spec is excused everywhere: " + v2Host);
    }

    @Test
    void aTableWithoutTheKitHeaderIsRejected(@TempDir Path dir) throws Exception {
        Path tsv = dir.resolve("x.tsv");
        Files.writeString(tsv, "something else\n");
        IOException e = assertThrows(IOException.class, () -> CritestResults.parse(tsv));
        assertTrue(e.getMessage().contains("not a critest kit result table"), e.getMessage());
    }
}
