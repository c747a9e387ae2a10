package dev.berth.runtime.exec;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntime;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * ExecSync: runs a command in a running container ({@link ExecProcess}: the container's own
 * process settings, no terminal) and collects its output, up to a bound per stream (the rest is
 * read and dropped). At the timeout the command and everything it started inside the container
 * are SIGKILLed and the call fails with DEADLINE_EXCEEDED. Output is read until the command
 * itself ends, not until background children it left close the pipes.
 */
public final class ExecRunner {
    private static final int QUEUE_BYTES = 64 * 1024;
    private static final long NO_TIMEOUT_MS = 24L * 3600 * 1000;
    private final Conmon conmon;
    private final int maxOutputBytes;

    public ExecRunner(Conmon conmon, int maxOutputBytes) {
        this.conmon = conmon;
        this.maxOutputBytes = maxOutputBytes;
    }

    public record Result(int exitCode, byte[] stdout, byte[] stderr, boolean truncated) {}

    public Result run(OciRuntime runtime, String id, Path configJson, Path workDir, List<String> cmd,
            long timeoutSeconds) {
        ExecProcess p = ExecProcess.start(conmon, new ExecProcess.Request(id, runtime, configJson, workDir, cmd,
                false, false, true, true), QUEUE_BYTES);
        try {
            Collector out = new Collector(p.stdout(), maxOutputBytes);
            Collector err = new Collector(p.stderr(), maxOutputBytes);
            long timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : NO_TIMEOUT_MS;
            Integer code = p.awaitExit(timeoutMs);
            if (code == null) {
                p.kill();
                throw new BerthException(ErrorKind.DEADLINE_EXCEEDED, "command " + cmd + " in container " + id
                        + " timed out after " + timeoutSeconds + "s and was killed");
            }
            out.join();
            err.join();
            return new Result(code, out.bytes(), err.bytes(), out.truncated || err.truncated);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw BerthException.internal("interrupted while running " + cmd + " in container " + id, e);
        } finally {
            p.close();
        }
    }

    /** Reads one stream on a virtual thread, keeping the first {@code max} bytes. */
    private static final class Collector {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private final Thread thread;
        private final int max;
        volatile boolean truncated;

        Collector(InputStream in, int max) {
            this.max = max;
            this.thread = Thread.ofVirtual().name("exec-output").start(() -> drain(in));
        }

        private void drain(InputStream in) {
            byte[] b = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(b)) >= 0) {
                    int room = max - buf.size();
                    if (room < n) {
                        truncated = true;
                    }
                    if (room > 0) {
                        buf.write(b, 0, Math.min(room, n));
                    }
                }
            } catch (IOException ignored) {
                // the session ended; what was read is kept
            }
        }

        void join() throws InterruptedException {
            thread.join();
        }

        byte[] bytes() {
            return buf.toByteArray();
        }
    }
}
