package dev.berth.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessesTest {
    @TempDir
    Path tmp;

    @Test
    void childGetsOnlyStdioAndTheGivenDescriptors() throws Exception {
        // An open, inheritable file of this JVM that must not reach the child.
        try (FileOutputStream held = new FileOutputStream(tmp.resolve("held").toFile())) {
            Processes.Pipe p = Processes.pipe();
            int pid;
            try {
                pid = Processes.spawn(List.of("/bin/sh", "-c", "exec 1>&3; ls /proc/$$/fd; echo sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$"),
                        Map.of("PATH", "/usr/bin:/bin"), Map.of(3, p.write()), true);
            } finally {
                Processes.close(p.write());
            }
            Processes.ReadResult r = Processes.readUntilEof(p.read(), 1 << 16, 10_000);
            Processes.close(p.read());
            assertEquals(0, Processes.waitFor(pid, 10_000));
            String[] lines = r.text().strip().split("\n");
            List<String> fds = Arrays.asList(lines).subList(0, lines.length - 1);
            assertEquals(List.of("0", "1", "2", "3"), fds.stream().filter(f -> !f.isBlank()).sorted().toList(),
                    "no descriptor of the daemon leaks into a monitor");
            String last = lines[lines.length - 1];
            assertTrue(last.startsWith("sid=" + pid + " "), "own session: " + last);
        }
    }

    @Test
    void killWaitAndReadTimeout() throws Exception {
        Processes.Pipe p = Processes.pipe();
        int pid = Processes.spawn(List.of("/bin/sleep", "30"), Map.of(), Map.of(3, p.write()), false);
        Processes.close(p.write());
        assertTrue(Processes.alive(pid));
        assertEquals(-1, Processes.waitFor(pid, 100), "still running");
        Processes.ReadResult r = Processes.readLine(p.read(), 100, 200);
        assertTrue(r.timedOut());
        assertTrue(Processes.kill(pid, Processes.SIGKILL));
        assertEquals(128 + Processes.SIGKILL, Processes.waitFor(pid, 5_000));
        assertFalse(Processes.alive(pid));
        assertTrue(Processes.readUntilEof(p.read(), 100, 1_000).data().length == 0, "EOF once the child is gone");
        Processes.close(p.read());
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "reaped: no zombie");
    }

    /**
     * CreateContainer waits in readLine for conmon's answer, on a virtual thread. Several such waits
     * (more than there are carriers) must leave the carriers free: before, poll(2) ran on the
     * carrier and every other CRI call of the daemon waited until conmon answered.
     */
    @Test
    void waitingForALineOnVirtualThreadsHoldsNoCarrier() throws Exception {
        int waiters = Runtime.getRuntime().availableProcessors() + 2;
        List<Processes.Pipe> pipes = new java.util.ArrayList<>();
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.Queue<String> lines = new java.util.concurrent.ConcurrentLinkedQueue<>();
        try {
            for (int i = 0; i < waiters; i++) {
                Processes.Pipe p = Processes.pipe();
                pipes.add(p);
                threads.add(Thread.ofVirtual().start(() -> lines.add(Processes.readLine(p.read(), 100, 5_000).text())));
            }
            Thread.sleep(200); // every waiter is in poll(2) now
            long t0 = System.nanoTime();
            java.util.concurrent.CompletableFuture<Void> other = new java.util.concurrent.CompletableFuture<>();
            Thread.ofVirtual().start(() -> other.complete(null));
            other.get(10, java.util.concurrent.TimeUnit.SECONDS);
            long waited = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(waited < 500, "another virtual thread waited " + waited + " ms for a carrier");
            for (Processes.Pipe p : pipes) {
                Processes.write(p.write(), "{\"pid\":1}\n".getBytes());
            }
            for (Thread t : threads) {
                t.join(5_000);
            }
            assertEquals(waiters, lines.size());
            assertTrue(lines.stream().allMatch(l -> l.equals("{\"pid\":1}\n")), "each waiter got its line: " + lines);
        } finally {
            for (Processes.Pipe p : pipes) {
                Processes.close(p.read());
                Processes.close(p.write());
            }
        }
    }
}
