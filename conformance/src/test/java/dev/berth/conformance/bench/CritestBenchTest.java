package dev.berth.conformance.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CritestBenchTest {
    @TempDir
    Path tmp;

    /**
     * The selection goes into critest's params file, never into a ginkgo focus: -benchmark focuses on
     * "benchmark" itself and ginkgo ORs a second focus with it, which ran validation specs instead.
     */
    @Test
    void theGroupsArePickedByTheParamsFileAndNoFocusIsPassed() {
        String yaml = CritestBench.params(Pattern.compile("Pod|Container"), 16, 8);
        assertTrue(yaml.contains("podsNumber: 16\n"), yaml);
        assertTrue(yaml.contains("containersNumber: 16\n"), yaml);
        assertTrue(yaml.contains("imagesNumber: 0\n"), "an unpicked group is skipped by critest: " + yaml);
        assertTrue(yaml.contains("podsNumberParallel: 8\n") && yaml.contains("containersNumberParallel: 8\n"), yaml);
        List<String> cmd = CritestBench.command(Path.of("/kit/bin/critest"), "unix:///run/x.sock", tmp,
                tmp.resolve("params.yaml"));
        assertEquals("-benchmark", cmd.get(1));
        assertTrue(cmd.containsAll(List.of("-benchmarking-params-file", tmp.resolve("params.yaml").toString())), cmd
                .toString());
        assertFalse(cmd.stream().anyMatch(a -> a.startsWith("--ginkgo.focus")), "no focus beside -benchmark's: " + cmd);
    }

    /** p50 per operation from critest's data files (operationsNames, datapoints[].operationsDurationsNs). */
    @Test
    void p50sComeFromCritestsDataFiles() throws Exception {
        Files.writeString(tmp.resolve("pod_benchmark_data.json"), """
                {"operationsNames":["CreatePod","StatusPod"],"numParallel":1,"datapoints":[
                 {"operationsDurationsNs":[3000000,1000000]},
                 {"operationsDurationsNs":[1000000,2000000]},
                 {"operationsDurationsNs":[2000000,3000000]}]}
                """);
        Files.writeString(tmp.resolve("critest.log"), "not data");
        Map<String, Double> p50 = CritestBench.p50s(tmp);
        assertEquals(Map.of("CreatePod", 2.0, "StatusPod", 2.0), p50);
    }
}
