package dev.berth.runtime.monitor;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.error.BerthException;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.ProcessTable;
import dev.berth.runtime.oci.RuncCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A runtime killed during {@code create} while a process it started holds its output (as a
 * {@code runc init} left by a killed {@code runc create} does): conmon then never reports (it waits
 * for EOF on that output until its own two-minute timeout), so berth watches the runtime and
 * gives up a few seconds after it is gone. Real conmon, a shell script as the runtime; needs conmon
 * installed (root, as the suite runs).
 */
class ConmonKilledRuntimeTest {
    private static final Path CONMON = Path.of("/usr/bin/conmon");

    @TempDir
    Path tmp;

    private final ProcessTable processes = LinuxHost.system().processes();

    @AfterEach
    void killWhatTheTestStarted() throws Exception {
        // the process the "runtime" left behind, and the monitor conmon daemonized
        for (Path pidFile : new Path[] {tmp.resolve("left.pid"), tmp.resolve("persist/conmon.pid")}) {
            if (Files.exists(pidFile)) {
                int pid = Integer.parseInt(Files.readString(pidFile).strip());
                if (pid > 1) {
                    processes.kill(pid, 9);
                }
            }
        }
    }

    @Test
    void aRuntimeKilledMidCreateFailsTheCreateWithinSecondsNotConmonsTwoMinutes() throws Exception {
        assumeTrue(Files.isExecutable(CONMON), "conmon is not installed");
        assumeTrue("root".equals(System.getProperty("user.name")), "runs conmon as the daemon does (root)");
        Path runtime = tmp.resolve("killed-runtime");
        Files.writeString(runtime, """
                #!/bin/sh
                case " $* " in
                  *" create "*)
                    # a child that keeps stdout/stderr open, then the runtime dies by SIGKILL
                    sleep 600 &
                    echo $! > %s
                    kill -9 $$ ;;
                  *) exit 0 ;;
                esac
                """.formatted(tmp.resolve("left.pid")));
        Files.setPosixFilePermissions(runtime, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path bundle = Files.createDirectories(tmp.resolve("bundle"));
        Path persist = Files.createDirectories(tmp.resolve("persist"));
        Conmon conmon = new Conmon(CONMON, tmp.resolve("exits"), tmp.resolve("attach"), processes);
        Conmon.Launch launch = new Conmon.Launch("killedmidcreate", "c", bundle, persist, tmp.resolve("c.log"),
                new RuncCli("runc", runtime, tmp.resolve("runtime-root")), false, false, false);

        long start = System.nanoTime();
        BerthException e = assertThrows(BerthException.class, () -> conmon.create(launch));
        long ms = (System.nanoTime() - start) / 1_000_000;

        assertTrue(ms < Conmon.RUNTIME_GONE_GRACE_MS + 12_000, "the create failed only after " + ms + " ms: " + e);
        assertTrue(e.getMessage().contains("exited without conmon reporting"), e.getMessage());
        System.out.println("ConmonKilledRuntimeTest: the create failed after " + ms + " ms: " + e.getMessage());
    }
}
