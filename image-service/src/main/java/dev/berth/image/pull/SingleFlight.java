package dev.berth.image.pull;

import dev.berth.image.registry.body.Bodies;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * Runs the work for a key once at a time: callers arriving while it runs wait for its result
 * (or its failure) instead of repeating it. Used per layer diff_id and per image reference.
 */
public final class SingleFlight<K, V> {
    private final ConcurrentHashMap<K, CompletableFuture<V>> inflight = new ConcurrentHashMap<>();

    public V run(K key, Supplier<V> work) {
        CompletableFuture<V> mine = new CompletableFuture<>();
        CompletableFuture<V> running = inflight.putIfAbsent(key, mine);
        if (running != null) {
            return await(running);
        }
        try {
            V v = work.get();
            mine.complete(v);
            return v;
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inflight.remove(key, mine);
        }
    }

    /** How many keys are being worked on (for tests and metrics). */
    public int running() {
        return inflight.size();
    }

    private static <V> V await(CompletableFuture<V> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Bodies.cancelled("waiting for a concurrent pull", e);
        } catch (ExecutionException | CompletionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(c);
        }
    }
}
