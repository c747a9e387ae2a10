package dev.berth.runtime.stdio;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded byte ring between the relay thread and a client thread. One side never blocks (the
 * relay: {@link #offer}, {@link #take}); the other side blocks on a lock condition, which parks a
 * virtual thread instead of pinning it. {@code relayWake} runs whenever the relay may now make
 * progress (room freed after a short offer, data or end of input added), so the relay can sleep
 * in poll(2) without a timeout.
 */
public final class ByteQueue {
    private final byte[] ring;
    private final Runnable relayWake;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private int head;
    private int size;
    private boolean finished;
    private boolean aborted;
    private boolean relayWaitsForRoom;

    public ByteQueue(int capacity, Runnable relayWake) {
        this.ring = new byte[capacity];
        this.relayWake = relayWake;
    }

    // ---- relay side, never blocks ----

    /** Adds as much of {@code b[off..off+len)} as fits; returns how much. Dropped silently after abort. */
    public int offer(byte[] b, int off, int len) {
        lock.lock();
        try {
            if (aborted) {
                return len;
            }
            int n = Math.min(len, ring.length - size);
            put(b, off, n);
            if (n < len) {
                relayWaitsForRoom = true;
            }
            if (n > 0) {
                changed.signalAll();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Removes up to {@code len} bytes into {@code b}; 0 when empty. */
    public int take(byte[] b, int off, int len) {
        lock.lock();
        try {
            int n = get(b, off, len);
            if (n > 0) {
                changed.signalAll();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    public boolean isEmpty() {
        lock.lock();
        try {
            return size == 0;
        } finally {
            lock.unlock();
        }
    }

    /** No more data will come (the writer finished) and everything was taken. */
    public boolean drained() {
        lock.lock();
        try {
            return (finished || aborted) && size == 0;
        } finally {
            lock.unlock();
        }
    }

    // ---- both sides ----

    /** End of data: readers see EOF after what is buffered. */
    public void finish() {
        lock.lock();
        try {
            finished = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        relayWake.run();
    }

    /** Drops the content: readers see EOF at once, writers an IOException. */
    public void abort() {
        lock.lock();
        try {
            aborted = true;
            size = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // ---- client side, blocks ----

    /** An InputStream reading what the relay offered. */
    public InputStream inputStream() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return readBlocking(b, off, len);
            }

            @Override
            public int available() {
                lock.lock();
                try {
                    return size;
                } finally {
                    lock.unlock();
                }
            }

            @Override
            public void close() {
                abort();
                relayWake.run();
            }
        };
    }

    /** An OutputStream whose bytes the relay takes; close means end of input. */
    public OutputStream outputStream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                writeBlocking(b, off, len);
            }

            @Override
            public void close() {
                finish();
            }
        };
    }

    private int readBlocking(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        boolean wake;
        int n;
        lock.lock();
        try {
            while (size == 0 && !finished && !aborted) {
                changed.await();
            }
            if (size == 0) {
                return -1;
            }
            n = get(b, off, len);
            wake = relayWaitsForRoom;
            relayWaitsForRoom = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading");
        } finally {
            lock.unlock();
        }
        if (wake) {
            relayWake.run();
        }
        return n;
    }

    private void writeBlocking(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int n;
            lock.lock();
            try {
                while (size == ring.length && !aborted && !finished) {
                    changed.await();
                }
                if (aborted || finished) {
                    throw new IOException("stream closed");
                }
                n = Math.min(len, ring.length - size);
                put(b, off, n);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while writing");
            } finally {
                lock.unlock();
            }
            off += n;
            len -= n;
            relayWake.run();
        }
    }

    private void put(byte[] b, int off, int n) {
        for (int i = 0; i < n; ) {
            int tail = (head + size) % ring.length;
            int chunk = Math.min(n - i, ring.length - tail);
            System.arraycopy(b, off + i, ring, tail, chunk);
            size += chunk;
            i += chunk;
        }
    }

    private int get(byte[] b, int off, int len) {
        int n = Math.min(len, size);
        for (int i = 0; i < n; ) {
            int chunk = Math.min(n - i, ring.length - head);
            System.arraycopy(ring, head, b, off + i, chunk);
            head = (head + chunk) % ring.length;
            size -= chunk;
            i += chunk;
        }
        return n;
    }
}
