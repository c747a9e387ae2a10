package dev.berth.conformance.soak;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Milliseconds per CRI step, from many threads; p50/p99 table. */
public final class Timings {
    private final Map<String, List<Double>> ms = new LinkedHashMap<>();

    public Timings(List<String> steps) {
        steps.forEach(s -> ms.put(s, new ArrayList<>()));
    }

    public synchronized void add(String step, long startNanos) {
        ms.get(step).add((System.nanoTime() - startNanos) / 1e6);
    }

    public synchronized double pct(String step, double p) {
        List<Double> s = new ArrayList<>(ms.get(step));
        if (s.isEmpty()) {
            return Double.NaN;
        }
        Collections.sort(s);
        return s.get((int) Math.max(0, Math.min(s.size() - 1, Math.ceil(p / 100 * s.size()) - 1)));
    }

    public synchronized String table() {
        StringBuilder b = new StringBuilder(String.format("%-18s %8s %10s %10s%n", "step (ms)", "calls", "p50", "p99"));
        for (String step : ms.keySet()) {
            b.append(String.format("%-18s %8d %10.1f %10.1f%n", step, ms.get(step).size(), pct(step, 50), pct(step, 99)));
        }
        return b.toString();
    }
}
