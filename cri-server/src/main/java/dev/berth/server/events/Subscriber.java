package dev.berth.server.events;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import runtime.v1.ContainerEventResponse;

/**
 * One GetContainerEvents stream: a bounded queue filled by the dispatcher and a sender thread that
 * writes to gRPC only while the stream is ready (its transport buffer has room), so an unread
 * stream holds at most its queue plus one flow-control window.
 */
final class Subscriber {
    private final ServerCallStreamObserver<ContainerEventResponse> observer;
    private final BlockingQueue<ContainerEventResponse> queue;
    private final Consumer<Subscriber> onEnd;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private volatile boolean cancelled;
    private volatile boolean dropped;
    private final String peer;

    Subscriber(ServerCallStreamObserver<ContainerEventResponse> observer, int capacity, Consumer<Subscriber> onEnd) {
        this.observer = observer;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.onEnd = onEnd;
        this.peer = "stream " + Integer.toHexString(System.identityHashCode(observer));
        // both must be set before the RPC method returns
        observer.setOnReadyHandler(this::signal);
        observer.setOnCancelHandler(() -> {
            cancelled = true;
            onEnd.accept(this);
            signal();
        });
    }

    void start() {
        Thread.ofVirtual().name("berth-events-" + peer).start(this::send);
    }

    /** From the dispatcher: false when the queue is full (the subscriber is too slow). */
    boolean offer(ContainerEventResponse r) {
        return !cancelled && !dropped && queue.offer(r);
    }

    /** Ends the stream with RESOURCE_EXHAUSTED; the queued events are discarded. */
    void drop() {
        dropped = true;
        queue.clear();
        signal();
    }

    void close() {
        cancelled = true;
        signal();
    }

    String peer() {
        return peer;
    }

    private void signal() {
        lock.lock();
        try {
            ready.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void send() {
        try {
            while (!cancelled && !dropped) {
                ContainerEventResponse next = queue.poll(1, TimeUnit.SECONDS);
                if (next == null) {
                    continue;
                }
                if (!awaitReady()) {
                    break;
                }
                observer.onNext(next);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            cancelled = true; // the call is closed
        } finally {
            onEnd.accept(this);
            finish();
        }
    }

    private boolean awaitReady() throws InterruptedException {
        lock.lock();
        try {
            while (!observer.isReady()) {
                if (cancelled || dropped) {
                    return false;
                }
                ready.await(1, TimeUnit.SECONDS);
            }
            return !cancelled && !dropped;
        } finally {
            lock.unlock();
        }
    }

    private void finish() {
        try {
            if (dropped && !cancelled) {
                observer.onError(Status.RESOURCE_EXHAUSTED.withDescription("this GetContainerEvents subscriber "
                        + "did not read its events in time and was dropped; subscribe again").asRuntimeException());
            } else if (!cancelled) {
                observer.onCompleted();
            }
        } catch (RuntimeException alreadyClosed) {
            // the client went away meanwhile
        }
    }
}
