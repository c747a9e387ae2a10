package dev.berth.conformance.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The per-spec table the critest kit writes ({@code results-1.34.tsv}: status, seconds, spec name,
 * reason). Status is passed, failed, skipped, or filtered (not selected by focus/skip, or a suite
 * node: not a spec that ran).
 */
public record CritestResults(List<Spec> specs) {
    public record Spec(String status, double seconds, String name, String reason) {
        public boolean is(String s) {
            return status.equals(s);
        }

        @Override
        public String toString() {
            return name + (reason.isEmpty() ? "" : "\n      " + (reason.length() > 300 ? reason.substring(0, 300) + "..." : reason));
        }
    }

    public static CritestResults parse(Path tsv) throws IOException {
        List<Spec> specs = new ArrayList<>();
        List<String> lines = Files.readAllLines(tsv, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.getFirst().startsWith("status\tseconds\tname")) {
            throw new IOException(tsv + " is not a critest kit result table (header: "
                    + (lines.isEmpty() ? "none" : lines.getFirst()) + ")");
        }
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t", 4);
            if (f.length < 3) {
                throw new IOException(tsv + ": malformed line: " + line);
            }
            specs.add(new Spec(f[0], Double.parseDouble(f[1]), f[2], f.length > 3 ? f[3] : ""));
        }
        return new CritestResults(List.copyOf(specs));
    }

    public List<Spec> withStatus(String status) {
        return specs.stream().filter(s -> s.is(status)).toList();
    }

    public int count(String status) {
        return withStatus(status).size();
    }

    /** Specs that ran (passed, failed or skipped by the suite itself). */
    public int ran() {
        return count("passed") + count("failed") + count("skipped");
    }

    /** "N passed, N failed, N skipped", as the kit prints it. */
    public String summary() {
        return count("passed") + " passed, " + count("failed") + " failed, " + count("skipped") + " skipped";
    }
}
