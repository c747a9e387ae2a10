package dev.berth.linux.net;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The one place the network side runs node programs: ip, iptables(-restore), nsenter, unshare and
 * CNI plugins. Each call is a fork+exec (about 1-3 ms here); callers batch work ({@code ip -batch},
 * {@code iptables-restore --noflush}) to keep the count per pod small.
 */
public final class NetCommand {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    /** What a program said and how it ended. */
    public record Result(List<String> argv, int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }

        /** Throws an INTERNAL BerthException naming the program and its stderr unless it exited 0. */
        public Result orThrow() {
            if (!ok()) {
                throw new BerthException(ErrorKind.INTERNAL, String.join(" ", argv) + " exited " + exitCode + ": "
                        + (stderr.isBlank() ? stdout.strip() : stderr.strip()));
            }
            return this;
        }
    }

    private NetCommand() {}

    /** Runs argv with stdin (may be null), the daemon's environment plus {@code env}, to completion. */
    public static Result run(List<String> argv, Map<String, String> env, byte[] stdin, Duration timeout) {
        ProcessBuilder pb = new ProcessBuilder(argv);
        if (env != null) {
            pb.environment().putAll(env);
        }
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new BerthException(ErrorKind.FAILED_PRECONDITION,
                    "cannot run " + argv.get(0) + ": " + e.getMessage() + " (is it installed?)", e);
        }
        CompletableFuture<byte[]> err = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> err.complete(readAll(p.getErrorStream())));
        try {
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin);
                } catch (IOException ignored) {
                    // the program may exit without reading all of it; its exit code tells
                }
            }
            byte[] out = readAll(p.getInputStream());
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw new BerthException(ErrorKind.DEADLINE_EXCEEDED,
                        String.join(" ", argv) + " did not finish within " + timeout.toSeconds() + "s");
            }
            return new Result(argv, p.exitValue(), new String(out, StandardCharsets.UTF_8),
                    new String(err.get(), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw BerthException.internal("interrupted while running " + argv.get(0), e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw BerthException.internal("reading stderr of " + argv.get(0), e);
        }
    }

    public static Result run(List<String> argv) {
        return run(argv, null, null, DEFAULT_TIMEOUT);
    }

    /** Runs argv feeding {@code stdin}; throws unless it exits 0. */
    public static Result check(List<String> argv, String stdin) {
        return run(argv, null, stdin == null ? null : stdin.getBytes(StandardCharsets.UTF_8), DEFAULT_TIMEOUT)
                .orThrow();
    }

    /**
     * Starts a long-lived program (a pod's infra process) with no stdio, and returns at once. It is
     * not tied to the daemon's life: it keeps running across a daemon restart.
     */
    public static Process startDetached(List<String> argv) {
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new BerthException(ErrorKind.FAILED_PRECONDITION,
                    "cannot run " + argv.get(0) + ": " + e.getMessage() + " (is it installed?)", e);
        }
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            return new byte[0];
        }
    }
}
