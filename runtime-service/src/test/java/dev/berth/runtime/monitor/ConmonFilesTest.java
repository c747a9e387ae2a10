package dev.berth.runtime.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** conmon's files as berth reads them after a restart or a reboot. */
class ConmonFilesTest {
    @TempDir
    Path tmp;

    @Test
    void aReusedPidIsNotTheMonitor() throws Exception {
        Path persist = Files.createDirectories(tmp.resolve("c1/monitor"));
        // A live process that is not conmon for this container (this JVM), as after a reboot.
        Files.writeString(persist.resolve("conmon.pid"), Long.toString(ProcessHandle.current().pid()));
        assertTrue(new Conmon(Path.of("/usr/bin/conmon"), tmp.resolve("exits"), tmp.resolve("attach"), dev.berth.linux.host.LinuxHost.system().processes()).monitorPid(persist).isEmpty());
        Files.writeString(persist.resolve("conmon.pid"), "999999999");
        assertTrue(new Conmon(Path.of("/usr/bin/conmon"), tmp.resolve("exits"), tmp.resolve("attach"), dev.berth.linux.host.LinuxHost.system().processes()).monitorPid(persist).isEmpty());
    }

    @Test
    void exitFilesGiveCodeTimeAndOom() throws Exception {
        Conmon c = new Conmon(Path.of("/usr/bin/conmon"), tmp.resolve("exits"), tmp.resolve("attach"), dev.berth.linux.host.LinuxHost.system().processes());
        Path persist = Files.createDirectories(tmp.resolve("c2/monitor"));
        assertTrue(c.exit("c2", persist).isEmpty());
        Files.writeString(persist.resolve("exit"), "137");
        Files.writeString(persist.resolve("oom"), "");
        Conmon.Exit e = c.exit("c2", persist).orElseThrow();
        assertEquals(137, e.code());
        assertTrue(e.oomKilled());
        assertTrue(e.finishedAtNanos() > 0);
        Files.writeString(c.exitFile("c3"), "0");
        Conmon.Exit ok = c.exit("c3", Files.createDirectories(tmp.resolve("c3"))).orElseThrow();
        assertEquals(0, ok.code());
        assertFalse(ok.oomKilled());
        c.forget("c3");
        assertFalse(Files.exists(c.exitFile("c3")));
    }
}
