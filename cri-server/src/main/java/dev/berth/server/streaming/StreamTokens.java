package dev.berth.server.streaming;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The single-use tokens of streaming URLs. A token is random (144 bits, URL-safe), stands for one
 * {@link StreamTarget}, is gone once used, and expires unused after {@link #TTL} (kubelet's request
 * cache does the same). At most {@link #MAX_PENDING} tokens wait at once, so callers that never
 * connect cannot grow the daemon's heap.
 */
public final class StreamTokens {
    public static final Duration TTL = Duration.ofMinutes(1);
    public static final int MAX_PENDING = 1000;

    private record Entry(StreamTarget target, long expiresAtNanos) {}

    private final SecureRandom random = new SecureRandom();
    private final LongSupplier nanoClock;
    private final long ttlNanos;
    /** Insertion order is expiry order (one TTL for all), so expired entries are at the head. */
    private final LinkedHashMap<String, Entry> pending = new LinkedHashMap<>();

    public StreamTokens() {
        this(System::nanoTime, TTL);
    }

    /** For tests: a clock to move by hand and a TTL of their choice. */
    public StreamTokens(LongSupplier nanoClock, Duration ttl) {
        this.nanoClock = nanoClock;
        this.ttlNanos = ttl.toNanos();
    }

    /** A new token for {@code target}; RESOURCE_EXHAUSTED when too many wait unused. */
    public synchronized String issue(StreamTarget target) {
        long now = nanoClock.getAsLong();
        dropExpired(now);
        if (pending.size() >= MAX_PENDING) {
            throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, "too many streaming URLs are waiting to be used ("
                    + MAX_PENDING + "); retry in " + TTL.toSeconds() + "s");
        }
        byte[] raw = new byte[18];
        String token;
        do {
            random.nextBytes(raw);
            token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        } while (pending.containsKey(token));
        pending.put(token, new Entry(target, now + ttlNanos));
        return token;
    }

    /** The target of a token, once: empty for an unknown, used or expired token. */
    public synchronized Optional<StreamTarget> consume(String token) {
        Entry e = pending.remove(token);
        if (e == null || nanoClock.getAsLong() - e.expiresAtNanos() > 0) {
            return Optional.empty();
        }
        return Optional.of(e.target());
    }

    public synchronized int pendingCount() {
        dropExpired(nanoClock.getAsLong());
        return pending.size();
    }

    private void dropExpired(long now) {
        for (Iterator<Entry> it = pending.values().iterator(); it.hasNext(); ) {
            if (now - it.next().expiresAtNanos() > 0) {
                it.remove();
            } else {
                return;
            }
        }
    }
}
