package dev.berth.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The calls stdio relaying is built on: non-blocking pipes, poll, fd passing, terminals, process trees. */
class StdioSyscallsTest {
    @TempDir
    Path tmp;

    @Test
    void nonBlockingReadsAndPoll() {
        Processes.Pipe p = Processes.pipe();
        try {
            Fds.setNonBlocking(p.read());
            byte[] buf = new byte[16];
            assertEquals(Fds.AGAIN, Fds.read(p.read(), buf, 0, buf.length), "empty pipe: would block");
            short[] rev = new short[1];
            assertEquals(0, Fds.poll(new int[] {p.read()}, new short[] {Fds.POLLIN}, rev, 10), "nothing ready");
            assertEquals(3, Fds.write(p.write(), "abc".getBytes(), 0, 3));
            assertEquals(1, Fds.poll(new int[] {p.read()}, new short[] {Fds.POLLIN}, rev, 1000));
            assertTrue((rev[0] & Fds.POLLIN) != 0);
            assertEquals(3, Fds.read(p.read(), buf, 2, 10));
            assertEquals("abc", new String(buf, 2, 3));
            Processes.close(p.write());
            assertEquals(0, Fds.read(p.read(), buf, 0, buf.length), "end of file once the writer is closed");
        } finally {
            Processes.close(p.read());
            Processes.close(p.write());
        }
    }

    @Test
    void descriptorPassedOverAUnixSocket() throws Exception {
        Path sock = tmp.resolve("console.sock");
        int listen = UnixSockets.listen(sock);
        int client = UnixSockets.connectStream(sock);
        int server = UnixSockets.accept(listen);
        Processes.Pipe p = Processes.pipe();
        try {
            UnixSockets.sendFd(client, p.write(), "/dev/pts/99");
            int received = UnixSockets.receiveFd(server);
            assertTrue(received > 2 && received != p.write(), "a new descriptor: " + received);
            Processes.write(received, "through".getBytes());
            Processes.close(received);
            Processes.close(p.write());
            assertEquals("through", Processes.readUntilEof(p.read(), 100, 2000).text(),
                    "the received descriptor is the sent pipe");
            Processes.close(client);
            assertEquals(-1, UnixSockets.receiveFd(server), "end of file after the peer closed");
        } finally {
            Processes.close(p.read());
            Processes.close(server);
            Processes.close(listen);
        }
        LinuxException e = assertThrows(LinuxException.class,
                () -> UnixSockets.connectSeqpacket(tmp, "no-such-socket"));
        assertTrue(e.getMessage().contains("no-such-socket"), e.getMessage());
    }

    @Test
    void terminalWindowSize() {
        Terminals.Pty pty = Terminals.open();
        try {
            assertTrue(pty.slavePath().startsWith("/dev/pts/"), pty.slavePath());
            Terminals.setSize(pty.master(), new Terminals.Size(132, 43));
            assertEquals(new Terminals.Size(132, 43), Terminals.size(pty.master()));
        } finally {
            Processes.close(pty.master());
        }
    }

    @Test
    void killsAProcessAndEverythingItStarted() throws Exception {
        Path marker = tmp.resolve("pids");
        // sh starts two sleeps (one in a subshell of its own) and waits.
        int sh = Processes.spawn(List.of("/bin/sh", "-c",
                "sleep 300 & (sleep 301 & echo $! >> " + marker + "; wait) & echo $! >> " + marker + "; wait"),
                Map.of("PATH", "/usr/bin:/bin"), Map.of(), false);
        try {
            long deadline = System.currentTimeMillis() + 5000;
            while (ProcessTree.descendants(sh).size() < 3 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            List<Integer> tree = ProcessTree.descendants(sh);
            assertEquals(3, tree.size(), "sleep, subshell and its sleep: " + tree);
            assertEquals(0, ProcessTree.kill(sh, 1), "not the expected parent: untouched");
            assertTrue(Processes.alive(sh));
            assertEquals(4, ProcessTree.kill(sh, (int) ProcessHandle.current().pid()));
            assertEquals(128 + Processes.SIGKILL, Processes.waitFor(sh, 5000));
            for (String pid : Files.readAllLines(marker, StandardCharsets.UTF_8)) {
                int p = Integer.parseInt(pid.strip());
                deadline = System.currentTimeMillis() + 5000;
                while (Processes.alive(p) && System.currentTimeMillis() < deadline) {
                    Thread.sleep(10);
                }
                assertFalse(Processes.alive(p), "descendant " + p + " killed");
            }
        } finally {
            if (Processes.alive(sh)) {
                Processes.kill(sh, Processes.SIGKILL);
                Processes.waitFor(sh, 5000);
            }
        }
    }
}
