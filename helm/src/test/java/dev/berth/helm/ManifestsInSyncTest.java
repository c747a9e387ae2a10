package dev.berth.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * k8s-manifests/ is the chart rendered for operators without Helm (release "berth" in namespace
 * "berth-system"): one file per template; the parts that are optional in the chart come from the
 * rendering with everything on. Regenerate with {@code -Dberth.writeManifests=true}.
 */
class ManifestsInSyncTest {
    static final Path DIR = Chart.HOME.resolve("k8s-manifests");
    static final Set<String> OPTIONAL = Set.of("installer.yaml", "monitors.yaml", "prometheusrule.yaml",
            "dashboard.yaml");

    @Test
    void manifestsAreTheChartRendered() throws Exception {
        Map<String, String> expected = new LinkedHashMap<>();
        render(Map.of(), false, expected);
        render(Chart.EVERYTHING_ON, true, expected);
        if (Boolean.getBoolean("berth.writeManifests")) {
            for (var e : expected.entrySet()) {
                Files.writeString(DIR.resolve(e.getKey()), e.getValue());
            }
        }
        Set<String> present;
        try (Stream<Path> files = Files.list(DIR)) {
            present = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(new TreeSet<>(expected.keySet()), present, "k8s-manifests/*.yaml are the chart's templates");
        for (var e : expected.entrySet()) {
            assertEquals(e.getValue(), Files.readString(DIR.resolve(e.getKey())),
                    e.getKey() + " differs from the chart (run with -Dberth.writeManifests=true)");
        }
    }

    private static void render(Map<String, Object> values, boolean optional, Map<String, String> out) {
        Map<String, List<Chart.Doc>> bySource = Chart.bySource(Chart.docs(Chart.template(values)));
        bySource.forEach((source, docs) -> {
            if (OPTIONAL.contains(source) == optional) {
                String header = "# Rendered from helm/berth/templates/" + source + " (release \"" + Chart.RELEASE
                        + "\", namespace \"" + Chart.NAMESPACE + "\")" + (optional ? ", optional" : "")
                        + "; do not edit: ManifestsInSyncTest.\n";
                out.put(source, header + docs.stream().map(d -> "---\n" + d.yaml()).collect(Collectors.joining()));
            }
        });
    }
}
