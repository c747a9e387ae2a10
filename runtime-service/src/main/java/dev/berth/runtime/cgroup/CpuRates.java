package dev.berth.runtime.cgroup;

import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * usage_nano_cores: CPU time used per second of wall time between two reads of the same cgroup.
 * Keeps the last sample per key (a cgroup path); the first read of a key has no rate yet.
 */
public final class CpuRates {
    private record Sample(long atNanos, long usageNanos) {}

    private final Map<String, Sample> last = new ConcurrentHashMap<>();

    /** Records this sample and returns the rate since the previous one of {@code key}. */
    public OptionalLong next(String key, long nowNanos, long usageNanos) {
        Sample prev = last.put(key, new Sample(nowNanos, usageNanos));
        if (prev == null || nowNanos <= prev.atNanos() || usageNanos < prev.usageNanos()) {
            return OptionalLong.empty();
        }
        double perSecond = (double) (usageNanos - prev.usageNanos()) * 1e9 / (nowNanos - prev.atNanos());
        return OptionalLong.of((long) perSecond);
    }

    /** Forgets every key not in {@code live} (removed containers and pods). */
    public void retain(Set<String> live) {
        last.keySet().retainAll(live);
    }

    /** Forgets one key. */
    public void forget(String key) {
        last.remove(key);
    }
}
