package dev.berth.runtime.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.linux.Processes;
import dev.berth.linux.RuntimeCommand;
import dev.berth.runtime.oci.OciRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * ExecSync: runs a command in a running container through {@code <runtime> exec} with the
 * container's own process settings (user, env, cwd, capabilities), no terminal. Output is kept up
 * to a bound per stream (the rest is read and dropped); at the timeout the process inside the
 * container is SIGKILLed (its pid comes from the runtime's pid file), which ends the runtime too.
 */
public final class ExecRunner {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final int maxOutputBytes;

    public ExecRunner(int maxOutputBytes) {
        this.maxOutputBytes = maxOutputBytes;
    }

    public record Result(int exitCode, byte[] stdout, byte[] stderr, boolean truncated) {}

    public Result run(OciRuntime runtime, String id, Path configJson, Path workDir, List<String> cmd,
            long timeoutSeconds) {
        String tag = "exec-" + UUID.randomUUID();
        Path processFile = workDir.resolve(tag + ".json");
        Path pidFile = workDir.resolve(tag + ".pid");
        try {
            JsonNode spec = JSON.readTree(configJson.toFile());
            ObjectNode process = ((ObjectNode) spec.get("process")).deepCopy();
            process.put("terminal", false);
            ArrayNode args = process.putArray("args");
            cmd.forEach(args::add);
            Files.writeString(processFile, JSON.writeValueAsString(process));
            long timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : 24L * 3600 * 1000;
            RuntimeCommand.Result r = RuntimeCommand.run(runtime.execCommand(id, processFile, pidFile),
                    Map.of(), timeoutMs, maxOutputBytes, () -> killFromPidFile(pidFile));
            if (r.timedOut()) {
                throw new BerthException(ErrorKind.DEADLINE_EXCEEDED, "command " + cmd + " in container " + id
                        + " timed out after " + timeoutSeconds + "s and was killed");
            }
            return new Result(r.exitCode(), r.stdout(), r.stderr(), r.truncated());
        } catch (IOException e) {
            throw BerthException.internal("exec in container " + id + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(processFile);
                Files.deleteIfExists(pidFile);
            } catch (IOException ignored) {
                // a stray exec file in the container directory goes away with the container
            }
        }
    }

    private static void killFromPidFile(Path pidFile) {
        try {
            int pid = Integer.parseInt(Files.readString(pidFile).strip());
            Processes.kill(pid, Processes.SIGKILL);
        } catch (IOException | NumberFormatException e) {
            // not started yet: killing the runtime below is enough
        }
    }
}
