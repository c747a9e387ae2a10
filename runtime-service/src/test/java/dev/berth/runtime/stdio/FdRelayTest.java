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
    @Test
    void slowReaderHoldsTheWriterBackAndGetsEveryByte() throws Exception {
        Processes.Pipe out = Processes.pipe();
        FdRelay relay = new FdRelay();
        ByteQueue q = new ByteQueue(4096, relay.waker());
        relay.output(out.read(), q);
        Thread t = Thread.ofPlatform().start(relay::run);
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
        t.join(5000);
        assertTrue(!t.isAlive(), "relay ends at end of file");
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
}
