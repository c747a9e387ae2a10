package dev.berth.linux.ns;

import dev.berth.core.error.BerthException;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Runs work on a fresh platform thread that exits afterwards. setns/unshare change the namespaces of
 * one OS thread only; a thread that switched must never run anything else, so it is never pooled
 * (the same reason the CNI Go code locks an OS thread, see containernetworking/plugins pkg/ns).
 * The task must not start threads or processes: they would inherit the switched namespaces.
 */
public final class NamespaceThread {
    private NamespaceThread() {}

    public static <T> T call(String name, Callable<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().name("berth-ns-" + name).daemon(true).unstarted(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        t.start();
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw BerthException.internal("interrupted while waiting for namespace work " + name, e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw BerthException.internal("namespace work " + name + " failed: " + c.getMessage(), c);
        }
    }

    public static void run(String name, Runnable task) {
        call(name, () -> {
            task.run();
            return null;
        });
    }
}
