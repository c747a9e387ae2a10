package dev.berth.agent;

/** A token bucket: {@code perMinute} tokens a minute, bursts up to that many. Thread-safe. */
final class RateLimiter {
    private final double perNano;
    private final double capacity;
    private double tokens;
    private long last;

    RateLimiter(int perMinute) {
        this.capacity = Math.max(1, perMinute);
        this.perNano = capacity / 60e9;
        this.tokens = capacity;
        this.last = System.nanoTime();
    }

    synchronized boolean tryAcquire() {
        long now = System.nanoTime();
        tokens = Math.min(capacity, tokens + (now - last) * perNano);
        last = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }
}
