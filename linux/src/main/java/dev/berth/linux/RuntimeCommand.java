package dev.berth.linux;

import dev.berth.core.error.BerthException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the container runtime binaries (runc, crun) and other node tools to completion: output
 * captured up to a bound (a chatty process cannot exhaust the daemon's memory; the rest is read
 * and dropped so the child never blocks), a deadline after which the caller's timeout action runs
 * and the child is killed, and the child always reaped (ProcessBuilder does the waitpid).
 */
public final class RuntimeCommand {
    private RuntimeCommand() {}

    /** What a finished command left: exit code (-1 when killed at the deadline), output, flags. */
    public record Result(int exitCode, byte[] stdout, byte[] stderr, boolean timedOut, boolean truncated) {
        public String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        public String err() {
            return new String(stderr, StandardCharsets.UTF_8).strip();
        }

        public boolean ok() {
            return exitCode == 0 && !timedOut;
        }
    }

    /** Runs {@code argv} with stdin closed, a 2-minute deadline and 1 MiB of output kept per stream. */
    public static Result run(List<String> argv) {
        return run(argv, Map.of(), 120_000, 1 << 20, null);
    }

    /**
     * Runs {@code argv}; when {@code timeoutMillis} passes, {@code onTimeout} (if any) runs first
     * (e.g. to kill what the command started inside a container), then the command is killed.
     */
    public static Result run(List<String> argv, Map<String, String> env, long timeoutMillis, int maxOutput,
            Runnable onTimeout) {
        ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        // systemd's notify socket is the daemon's alone: runc given NOTIFY_SOCKET waits for the
        // container to report READY=1 itself
        pb.environment().remove("NOTIFY_SOCKET");
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw BerthException.internal("cannot run " + argv.get(0) + ": " + e.getMessage(), e);
        }
        Bounded out = new Bounded(maxOutput);
        Bounded err = new Bounded(maxOutput);
        Thread to = Thread.ofVirtual().start(() -> drain(p.getInputStream(), out));
        Thread te = Thread.ofVirtual().start(() -> drain(p.getErrorStream(), err));
        boolean timedOut = false;
        try {
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                timedOut = true;
                if (onTimeout != null) {
                    try {
                        onTimeout.run();
                    } catch (RuntimeException ignored) {
                        // the kill below still ends the command
                    }
                    p.waitFor(2, TimeUnit.SECONDS);
                }
                p.destroyForcibly();
                p.waitFor();
            }
            to.join(5000);
            te.join(5000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw BerthException.internal("interrupted while running " + argv.get(0), e);
        }
        return new Result(timedOut ? -1 : p.exitValue(), out.bytes(), err.bytes(), timedOut,
                out.truncated || err.truncated);
    }

    private static void drain(InputStream in, Bounded sink) {
        byte[] buf = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                sink.accept(buf, n);
            }
        } catch (IOException ignored) {
            // the process went away; what was read is kept
        }
    }

    private static final class Bounded {
        private final int max;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private boolean truncated;

        Bounded(int max) {
            this.max = max;
        }

        synchronized void accept(byte[] b, int n) {
            int room = max - buf.size();
            if (room < n) {
                truncated = true;
            }
            if (room > 0) {
                buf.write(b, 0, Math.min(room, n));
            }
        }

        synchronized byte[] bytes() {
            return buf.toByteArray();
        }
    }
}
