package dev.berth.conformance.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The per-step times berth logs for each lifecycle call ("<Call> <id> steps ms: a=1.2 b=3.4
 * total=5.0", DEBUG level of dev.berth.runtime), summed up as the median of each step, so a bench
 * figure can be explained step by step.
 */
public final class StepBreakdown {
    /** Environment for BerthDaemon that makes the daemon log its step times. */
    public static final Map<String, String> DAEMON_ENV = Map.of(
            "QUARKUS_LOG_CATEGORY__DEV_BERTH_RUNTIME__LEVEL", "DEBUG",
            "QUARKUS_LOG_CATEGORY__DEV_BERTH_IMAGE__LEVEL", "DEBUG");
    private static final Pattern STEP = Pattern.compile("([a-z-]+)=([0-9.]+)");

    private StepBreakdown() {}

    /** Median per step of every {@code call} line of the log, in the order steps first appear. */
    public static Map<String, Double> medians(Path log, String call) throws IOException {
        return medians(log, call, line -> true);
    }

    /** As {@link #medians(Path, String)}, over the lines {@code which} accepts (e.g. naming certain ids). */
    public static Map<String, Double> medians(Path log, String call, Predicate<String> which) throws IOException {
        Map<String, List<Double>> samples = new LinkedHashMap<>();
        String marker = call + " ";
        for (String line : Files.readAllLines(log)) {
            int at = line.indexOf(marker);
            int steps = line.indexOf(" steps ms:");
            if (at < 0 || steps < at || !which.test(line)) {
                continue;
            }
            Matcher m = STEP.matcher(line.substring(steps));
            while (m.find()) {
                samples.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(Double.parseDouble(m.group(2)));
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        samples.forEach((k, v) -> {
            v.sort(null);
            out.put(k, v.get(v.size() / 2));
        });
        return out;
    }

    /** Prints one line per call: "StopPodSandbox (berth, median ms per step): a 1.2 | b 3.4 | total 5.0". */
    public static void print(Path log, String... calls) {
        print(log, "berth", line -> true, calls);
    }

    /** As {@link #print(Path, String...)}, over the lines {@code which} accepts, labelled {@code label}. */
    public static void print(Path log, String label, Predicate<String> which, String... calls) {
        for (String call : calls) {
            try {
                Map<String, Double> m = medians(log, call, which);
                if (m.isEmpty()) {
                    System.out.println(call + " (" + label + "): no step times in the daemon log");
                    continue;
                }
                StringBuilder b = new StringBuilder(call).append(" (").append(label).append(", median ms per step):");
                m.forEach((k, v) -> b.append(' ').append(k).append(' ').append(String.format("%.1f", v)).append(" |"));
                b.setLength(b.length() - 2);
                System.out.println(b);
            } catch (IOException e) {
                System.out.println(call + ": cannot read " + log + ": " + e.getMessage());
            }
        }
    }
}
