package dev.berth.core.concurrent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class NativeBlockingTest {
    /** poll(NULL, 0, ms): a wait inside native code, as a CreateContainer's wait for conmon. */
    private static final MethodHandle POLL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("poll").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final int WAIT_MS = 1500;

    private static int nativeSleep() throws Throwable {
        return (int) POLL.invokeExact(MemorySegment.NULL, 0L, WAIT_MS);
    }

    /**
     * How long a trivial virtual thread waits to run while more virtual threads than there are
     * carriers sit in a native wait, each made through {@code wait}.
     */
    private static long millisToRunBesideNativeWaits(NativeBlocking.Call<Integer> wait) throws Exception {
        int carriers = Runtime.getRuntime().availableProcessors();
        List<Thread> waiters = new ArrayList<>();
        for (int i = 0; i < carriers + 2; i++) {
            waiters.add(Thread.ofVirtual().start(() -> {
                try {
                    wait.call();
                } catch (Throwable t) {
                    throw new RuntimeException(t);
                }
            }));
        }
        Thread.sleep(200); // the waiters are in poll(2) now
        long t0 = System.nanoTime();
        CompletableFuture<Void> trivial = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> trivial.complete(null));
        trivial.get(10, TimeUnit.SECONDS);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        for (Thread t : waiters) {
            t.join();
        }
        return ms;
    }

    @Test
    void aNativeWaitOnAVirtualThreadLeavesTheCarriersFree() throws Exception {
        // control: called directly, the waits hold every carrier (what stalled berth's reads)
        long pinned = millisToRunBesideNativeWaits(NativeBlockingTest::nativeSleep);
        Assumptions.assumeTrue(pinned > WAIT_MS / 2, "this JVM does not pin carriers in native calls ("
                + pinned + " ms)");
        long free = millisToRunBesideNativeWaits(() -> NativeBlocking.call(NativeBlockingTest::nativeSleep));
        assertTrue(free < 500, "a virtual thread waited " + free + " ms for a carrier behind native waits");
    }

    @Test
    void resultsAndExceptionsCrossAsTheyWereMade() throws Exception {
        CompletableFuture<Object[]> out = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                String value = NativeBlocking.unchecked(() -> Thread.currentThread().isVirtual() ? "virtual" : "platform");
                IllegalStateException thrown = assertThrows(IllegalStateException.class,
                        () -> NativeBlocking.unchecked(() -> {
                            throw new IllegalStateException("boom");
                        }));
                out.complete(new Object[] {value, thrown.getMessage()});
            } catch (Throwable t) {
                out.completeExceptionally(t);
            }
        });
        Object[] r = out.get(10, TimeUnit.SECONDS);
        assertEquals("platform", r[0], "from a virtual thread the call runs on a platform thread");
        assertEquals("boom", r[1]);
        // from a platform thread: inline
        assertEquals(Thread.currentThread().getName(), NativeBlocking.unchecked(() -> Thread.currentThread().getName()));
    }

    @Test
    void anInterruptWhileWaitingIsKeptForTheCaller() throws Exception {
        CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
        Thread v = Thread.ofVirtual().start(() -> {
            NativeBlocking.unchecked(() -> {
                Thread.sleep(300);
                return null;
            });
            interrupted.complete(Thread.currentThread().isInterrupted());
        });
        Thread.sleep(50);
        v.interrupt();
        assertTrue(interrupted.get(10, TimeUnit.SECONDS));
        assertFalse(Thread.currentThread().isInterrupted());
    }
}
