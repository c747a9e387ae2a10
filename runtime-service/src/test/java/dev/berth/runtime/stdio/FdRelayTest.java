package dev.berth.runtime.stdio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.linux.Fds;
import dev.berth.linux.Processes;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The relay over plain pipes: bounded buffering, input end of file, draining when the process is gone. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FdRelayTest {
    /** A relay of one pipe into a queue of {@code queueBytes}, running on a thread of its own. */
    private record OneOutput(Processes.Pipe pipe, ByteQueue queue, Thread thread) {
        static OneOutput start(int queueBytes) {
            Processes.Pipe out = Processes.pipe();
            FdRelay relay = new FdRelay();
            ByteQueue q = new ByteQueue(queueBytes, relay.waker());
            relay.output(out.read(), q);
            return new OneOutput(out, q, Thread.ofPlatform().start(relay::run));
        }

        void assertEnds() throws InterruptedException {
            thread.join(5000);
            assertTrue(!thread.isAlive(), "relay ends at end of file");
        }
    }

    @Test
    void slowReaderHoldsTheWriterBackAndGetsEveryByte() throws Exception {
        OneOutput r = OneOutput.start(4096);
        Processes.Pipe out = r.pipe();
        ByteQueue q = r.queue();
        byte[] chunk = new byte[1024];
        Fds.setNonBlocking(out.write());
        long written = 0;
        // Fill pipe + queue until the writer would block: the daemon holds at most the queue's bound.
        while (Fds.write(out.write(), chunk, 0, chunk.length) > 0) {
            written += 1024;
            Thread.sleep(written % (64 * 1024) == 0 ? 20 : 0);
        }
        Thread.sleep(100);
        assertTrue(q.inputStream().available() <= 4096, "queue bounded");
        assertTrue(written < 1 << 20, "the writer was held back after " + written + " bytes");
        Processes.close(out.write());
        InputStream in = q.inputStream();
        long read = in.readAllBytes().length;
        assertEquals(written, read, "nothing lost");
        r.assertEnds();
    }

    /**
     * Thousands of full-queue stalls, each ended by the reader's wake-up: none is lost (a wake-up
     * landing between the relay's clearing of its flag and its reading of the wake pipe was, and
     * the relay then slept with a full queue for good).
     */
    @Test
    void everyWakeUpOfAReaderThatMadeRoomIsSeen() throws Exception {
        OneOutput r = OneOutput.start(256);
        Processes.Pipe out = r.pipe();
        long total = 32L << 20;
        Thread writer = Thread.ofPlatform().start(() -> {
            byte[] chunk = new byte[4096];
            for (long sent = 0; sent < total; sent += chunk.length) {
                Processes.write(out.write(), chunk);
            }
            Processes.close(out.write());
        });
        InputStream in = r.queue().inputStream();
        byte[] small = new byte[97];
        long read = 0;
        for (int n; (n = in.read(small)) >= 0; ) {
            read += n;
        }
        assertEquals(total, read, "every byte arrived");
        writer.join(5000);
        r.assertEnds();
    }

    @Test
    void inputEndOfFileAndDrainWhileABackgroundHolderKeepsThePipeOpen() throws Exception {
        Processes.Pipe in = Processes.pipe();
        Processes.Pipe out = Processes.pipe();
        Processes.Pipe control = Processes.pipe();
        FdRelay relay = new FdRelay();
        ByteQueue stdin = new ByteQueue(1024, relay.waker());
        ByteQueue stdout = new ByteQueue(1024, relay.waker());
        relay.input(in.write(), stdin, null).output(out.read(), stdout)
                .control(control.read(), data -> { }, relay::drainOutputs);
        Thread t = Thread.ofPlatform().start(relay::run);
        OutputStream w = stdin.outputStream();
        w.write("abc".getBytes(StandardCharsets.UTF_8));
        w.close();
        assertEquals("abc", Processes.readUntilEof(in.read(), 100, 5000).text(), "written, then end of file");
        Processes.close(in.read());
        Processes.write(out.write(), "last words".getBytes(StandardCharsets.UTF_8));
        Processes.close(control.write()); // the monitor ended; out.write() stays open like a background child
        InputStream r = stdout.inputStream();
        assertEquals("last words", new String(r.readAllBytes(), StandardCharsets.UTF_8));
        t.join(5000);
        assertTrue(!t.isAlive(), "the relay ended although a writer still holds the pipe");
        Processes.close(out.write());
    }

    @Test
    void aBackgroundChildThatKeepsWritingCannotKeepTheDrainGoing() throws Exception {
        Processes.Pipe out = Processes.pipe();
        Processes.Pipe control = Processes.pipe();
        FdRelay relay = new FdRelay();
        ByteQueue stdout = new ByteQueue(64 * 1024, relay.waker());
        relay.output(out.read(), stdout).control(control.read(), data -> { }, relay::drainOutputs);
        Thread t = Thread.ofPlatform().start(relay::run);
        // the "background child": writes for ever (like `yes &` left by an exec'd shell)
        java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread child = Thread.ofPlatform().start(() -> {
            byte[] line = "y\n".getBytes(StandardCharsets.UTF_8);
            while (writing.get()) {
                try {
                    Processes.write(out.write(), line);
                } catch (RuntimeException closed) {
                    return;
                }
            }
        });
        Thread reader = Thread.ofPlatform().start(() -> {
            try (InputStream r = stdout.inputStream()) {
                r.transferTo(OutputStream.nullOutputStream()); // a client that reads as fast as it can
            } catch (java.io.IOException ignored) {
                // ended
            }
        });
        Thread.sleep(100);
        long t0 = System.nanoTime();
        Processes.close(control.write()); // the exec'd process ended
        t.join(10_000);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        writing.set(false);
        assertTrue(!t.isAlive(), "the relay ended although a child keeps writing into the pipe");
        assertTrue(ms < FdRelay.DRAIN_GRACE_MS + 3000, "ended within the drain grace: " + ms + " ms");
        reader.join(5000);
        assertTrue(!reader.isAlive(), "the client saw end of file");
        Processes.close(out.write());
        child.join(5000);
    }

    @Test
    void aSlowClientStillGetsAllTheProcessWroteBeforeItEnded() throws Exception {
        Processes.Pipe out = Processes.pipe();
        Processes.Pipe control = Processes.pipe();
        FdRelay relay = new FdRelay();
        ByteQueue stdout = new ByteQueue(4096, relay.waker());
        relay.output(out.read(), stdout).control(control.read(), data -> { }, relay::drainOutputs);
        Thread t = Thread.ofPlatform().start(relay::run);
        byte[] chunk = new byte[1024];
        java.util.Arrays.fill(chunk, (byte) 'x');
        Fds.setNonBlocking(out.write());
        long written = 0;
        while (Fds.write(out.write(), chunk, 0, chunk.length) > 0) {
            written += 1024; // pipe and queue full: what the process left when it ended
        }
        Processes.close(control.write()); // ended; out.write() stays open like a quiet background child
        Thread.sleep(FdRelay.DRAIN_GRACE_MS + 500); // the client is slower than the drain grace
        InputStream r = stdout.inputStream();
        assertEquals(written, r.readAllBytes().length, "nothing of the process's output was cut");
        t.join(5000);
        assertTrue(!t.isAlive());
        Processes.close(out.write());
    }
}
