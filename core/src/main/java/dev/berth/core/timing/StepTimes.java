package dev.berth.core.timing;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Wall time of each step of one lifecycle call or pull, so a benchmark figure can be explained
 * (logged at FINE to the caller's logger: {@code quarkus.log.category."dev.berth.runtime".level=DEBUG}
 * shows the pods' and containers', {@code "dev.berth.image"} the pulls').
 */
public final class StepTimes {
    private final long start = System.nanoTime();
    private long last = start;
    private final Map<String, Double> steps = new LinkedHashMap<>();

    /** Ends the step named {@code name} now (time since the previous step). */
    public void step(String name) {
        long now = System.nanoTime();
        steps.merge(name, (now - last) / 1e6, Double::sum);
        last = now;
    }

    public Map<String, Double> steps() {
        return Map.copyOf(steps);
    }

    public double totalMillis() {
        return (System.nanoTime() - start) / 1e6;
    }

    public void log(Logger log, String what) {
        if (log.isLoggable(Level.FINE)) {
            StringBuilder b = new StringBuilder(what).append(" steps ms:");
            steps.forEach((k, v) -> b.append(' ').append(k).append('=').append(String.format("%.1f", v)));
            b.append(" total=").append(String.format("%.1f", totalMillis()));
            log.fine(b.toString());
        }
    }
}
