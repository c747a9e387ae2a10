package dev.berth.conformance.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs host commands for test setup and census (test code only; the daemon never does this). */
public final class Commands {
    public record Result(int exitCode, String output) {
        public Result orThrow() {
            if (exitCode != 0) {
                throw new IllegalStateException("command failed (" + exitCode + "): " + output);
            }
            return this;
        }
    }

    private Commands() {}

    public static Result run(String... command) {
        return run(List.of(command));
    }

    public static Result run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + command);
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-1, command + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    public static Result sh(String script) {
        return run("sh", "-c", script);
    }
}
