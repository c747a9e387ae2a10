package dev.berth.helm;

import com.marcnuri.helm.Helm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The chart under helm/berth, rendered through helm-java (helm's own Go code, bundled). */
final class Chart {
    static final Path HOME = Path.of(System.getProperty("berth.home", "..")).toAbsolutePath().normalize();
    static final Path DIR = HOME.resolve("helm/berth");
    static final String RELEASE = "berth";
    static final String NAMESPACE = "berth-system";
    static final String KUBE_VERSION = "1.31.0";

    /** Every optional part on (and berth's /metrics on the node's address, as the monitors need). */
    static final Map<String, Object> EVERYTHING_ON = Map.of(
            "installer.enabled", true,
            "installer.switchKubelet", true,
            "metrics.serviceMonitor.enabled", true,
            "metrics.podMonitor.enabled", true,
            "prometheusRule.enabled", true,
            "grafanaDashboard.enabled", true,
            "config.http.host", "0.0.0.0",
            "runtimeClasses.overhead.memory", "8Mi");

    /** One rendered object: the template it came from and its YAML. */
    record Doc(String source, String yaml) {}

    private Chart() {}

    static String template(Map<String, Object> values) {
        var cmd = new Helm(DIR).template().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion(KUBE_VERSION);
        values.forEach(cmd::set);
        return cmd.call();
    }

    /** The documents of a rendering, each with its "# Source:" template; empty ones left out. */
    static List<Doc> docs(String rendered) {
        List<Doc> out = new ArrayList<>();
        Pattern source = Pattern.compile("^# Source: berth/templates/(\\S+)$", Pattern.MULTILINE);
        for (String part : rendered.split("(?m)^---\\s*$")) {
            if (part.isBlank()) {
                continue;
            }
            Matcher m = source.matcher(part);
            if (!m.find()) {
                throw new AssertionError("a rendered document without its source: " + part);
            }
            String yaml = part.substring(m.end()).strip();
            if (!yaml.isEmpty()) {
                out.add(new Doc(m.group(1), yaml + "\n"));
            }
        }
        return out;
    }

    /** Documents grouped by template file, in rendering order. */
    static Map<String, List<Doc>> bySource(List<Doc> docs) {
        Map<String, List<Doc>> out = new LinkedHashMap<>();
        for (Doc d : docs) {
            out.computeIfAbsent(d.source(), k -> new ArrayList<>()).add(d);
        }
        return out;
    }

    /** A copy of the chart whose values.yaml turns everything on (helm lint takes no --set). */
    static Path copyWithEverythingOn(Path tmp) {
        try {
            Path dst = tmp.resolve("berth");
            try (var files = Files.walk(DIR)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Path t = dst.resolve(DIR.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                    } else {
                        Files.copy(p, t);
                    }
                }
            }
            String values = Files.readString(DIR.resolve("values.yaml"))
                    .replace("installer:\n  enabled: false", "installer:\n  enabled: true")
                    .replace("  switchKubelet: false", "  switchKubelet: true")
                    .replace("  serviceMonitor:\n    enabled: false", "  serviceMonitor:\n    enabled: true")
                    .replace("  podMonitor:\n    enabled: false", "  podMonitor:\n    enabled: true")
                    .replace("prometheusRule:\n  enabled: false", "prometheusRule:\n  enabled: true")
                    .replace("grafanaDashboard:\n  enabled: false", "grafanaDashboard:\n  enabled: true")
                    .replace("    host: 127.0.0.1\n    port: 10360", "    host: 0.0.0.0\n    port: 10360");
            Files.writeString(dst.resolve("values.yaml"), values);
            return dst;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
