package dev.berth.core.concurrent;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs a call that blocks inside native code (an FFM downcall such as poll(2), a JNI call such as
 * SQLite's commit with its fsync) without holding a virtual thread's carrier.
 *
 * <p>The daemon serves CRI calls on virtual threads, scheduled on as many carriers as the machine
 * has cores. A virtual thread cannot unmount while it is in native code, so a CreateContainer
 * waiting in poll(2) for conmon's answer kept a carrier for that whole wait; two of them on a
 * 2-core node left no carrier for anything else, and every ContainerStatus or ListPodSandbox
 * waited behind them. Called from a virtual thread, the call here runs on a platform thread of
 * its own while the virtual thread parks (and frees its carrier); from a platform thread it runs
 * inline.
 */
public final class NativeBlocking {
    /** A native call; may throw anything (MethodHandle.invokeExact declares Throwable). */
    @FunctionalInterface
    public interface Call<T> {
        T call() throws Throwable;
    }

    /** Threads made on demand, ended after 30 s idle: an idle daemon keeps none. */
    private static final ThreadPoolExecutor WAITERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30,
            TimeUnit.SECONDS, new SynchronousQueue<>(), Thread.ofPlatform().name("native-wait-", 1).daemon(true).factory());

    private NativeBlocking() {}

    /**
     * The call's result. Its exceptions reach the caller as thrown (a checked one wrapped in
     * {@link RuntimeException} when the call ran on another thread, as a Throwable cannot cross
     * otherwise: callers here convert native failures to unchecked ones first). An interrupt of the
     * waiting virtual thread does not abandon the call (native code cannot be stopped); it is kept
     * for the caller once the call has returned.
     */
    public static <T> T call(Call<T> call) throws Throwable {
        if (!Thread.currentThread().isVirtual()) {
            return call.call();
        }
        Future<T> f = WAITERS.submit(() -> {
            try {
                return call.call();
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new RuntimeException(t);
            }
        });
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    throw e.getCause();
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@link #call} for calls that throw only unchecked exceptions. */
    public static <T> T unchecked(Call<T> call) {
        try {
            return call(call);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new RuntimeException(t);
        }
    }

    /** How many platform threads wait in native calls now (for tests and diagnostics). */
    public static int busyThreads() {
        return WAITERS.getActiveCount();
    }
}
