package dev.berth.runtime.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class IdLocksTest {
    @Test
    void locksOfIdsNobodyHoldsAreDropped() {
        IdLocks locks = new IdLocks();
        for (int i = 0; i < 10_000; i++) {
            String id = Integer.toHexString(i);
            try (IdLocks.Held h = locks.exclusive(id)) {
                assertEquals(1, locks.size());
            }
            locks.tryExclusive(id).ifPresent(IdLocks.Held::close);
            locks.shared(id).close();
        }
        assertEquals(0, locks.size());
    }

    @Test
    void sharedHoldersExcludeTheExclusiveOneAndNotEachOther() throws Exception {
        IdLocks locks = new IdLocks();
        IdLocks.Held a = locks.shared("pod");
        // a second shared holder on its own thread (read holds belong to the thread that took them)
        CountDownLatch bHeld = new CountDownLatch(1);
        CountDownLatch bRelease = new CountDownLatch(1);
        Thread b = Thread.ofVirtual().start(() -> {
            try (IdLocks.Held h = locks.shared("pod")) {
                bHeld.countDown();
                bRelease.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(bHeld.await(5, TimeUnit.SECONDS), "a shared holder waited for another shared holder");
        CountDownLatch got = new CountDownLatch(1);
        Thread writer = Thread.ofVirtual().start(() -> {
            try (IdLocks.Held w = locks.exclusive("pod")) {
                got.countDown();
            }
        });
        assertFalse(got.await(300, TimeUnit.MILLISECONDS), "exclusive while shared holders remain");
        assertTrue(locks.tryExclusive("pod").isEmpty());
        a.close();
        a.close(); // twice: must not release another holder's hold
        assertFalse(got.await(200, TimeUnit.MILLISECONDS), "a double close released the other shared hold");
        bRelease.countDown();
        assertTrue(got.await(5, TimeUnit.SECONDS), "the exclusive holder never got the lock");
        writer.join(5_000);
        b.join(5_000);
        assertEquals(0, locks.size());
    }
}
