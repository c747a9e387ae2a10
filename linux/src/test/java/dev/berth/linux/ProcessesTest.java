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
}
