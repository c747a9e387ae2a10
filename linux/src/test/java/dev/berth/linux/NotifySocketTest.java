package dev.berth.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sd_notify's datagram arrives whole at a unix datagram socket (socat plays systemd). */
class NotifySocketTest {
    @TempDir
    Path dir;

    static boolean haveSocat() {
        return Files.isExecutable(Path.of("/usr/bin/socat"));
    }

    @Test
    void aDatagramReachesAPathSocket() throws Exception {
        assumeTrue(haveSocat(), "needs socat");
        Path sock = dir.resolve("notify");
        assertEquals("READY=1\nSTATUS=serving", receive("UNIX-RECV:" + sock, () -> NotifySocket.send(sock.toString(),
                "READY=1\nSTATUS=serving"), () -> Files.exists(sock)));
    }

    @Test
    void anAbstractNameIsReachedToo() throws Exception {
        assumeTrue(haveSocat(), "needs socat");
        String name = "berth-notify-test-" + ProcessHandle.current().pid();
        assertEquals("STOPPING=1", receive("ABSTRACT-RECV:" + name, () -> NotifySocket.send("@" + name, "STOPPING=1"),
                () -> true));
    }

    @Test
    void noListenerAndBadNamesAreErrorsNamingTheSocket() {
        LinuxException e = assertThrows(LinuxException.class,
                () -> NotifySocket.send(dir.resolve("nobody").toString(), "READY=1"));
        assertTrue(e.getMessage().contains("sendto") && e.getMessage().contains("nobody"), e.getMessage());
        assertThrows(LinuxException.class, () -> NotifySocket.send("relative/path", "READY=1"));
        assertThrows(LinuxException.class, () -> NotifySocket.send("/" + "x".repeat(120), "READY=1"));
    }

    private static String receive(String address, Runnable send, java.util.function.BooleanSupplier bound)
            throws Exception {
        Process socat = new ProcessBuilder("socat", "-u", address, "STDOUT").start();
        try {
            // retry until socat has bound its socket
            LinuxException last = null;
            for (int i = 0; i < 100; i++) {
                if (bound.getAsBoolean()) {
                    try {
                        send.run();
                        last = null;
                        break;
                    } catch (LinuxException e) {
                        last = e;
                    }
                }
                Thread.sleep(50);
            }
            if (last != null) {
                throw last;
            }
            // socat goes on receiving: read what one datagram brought
            var read = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    byte[] buf = new byte[4096];
                    int n = socat.getInputStream().read(buf);
                    return n < 0 ? "" : new String(buf, 0, n);
                } catch (java.io.IOException e) {
                    return e.toString();
                }
            });
            return read.get(10, TimeUnit.SECONDS);
        } finally {
            socat.destroyForcibly();
        }
    }
}
