package dev.berth.server.streaming.remotecommand;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * How a session ended, written on the error stream the way kubelet writes it: from v4 on a
 * Kubernetes {@code Status} object (metav1.Status JSON; a non-zero exit is reason
 * {@code NonZeroExitCode} with cause {@code ExitCode}), before v4 only a failure's message text.
 */
public record ExitStatus(boolean succeeded, String message, String reason, String causeType, String causeMessage,
        int code) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static ExitStatus ok() {
        return new ExitStatus(true, "", "", "", "", 0);
    }

    public static ExitStatus nonZeroExit(List<String> cmd, int exitCode) {
        return new ExitStatus(false, "command terminated with non-zero exit code: error executing command "
                + cmd + ", exit code " + exitCode, "NonZeroExitCode", "ExitCode", Integer.toString(exitCode), 0);
    }

    /** kubelet's apierrors.NewInternalError: the session could not run (container gone, exec failed). */
    public static ExitStatus internalError(String what) {
        return new ExitStatus(false, "Internal error occurred: " + what, "InternalError", "", what, 500);
    }

    /** The v4 (and v5) error-stream payload. */
    public byte[] json() {
        ObjectNode s = JSON.createObjectNode();
        s.putObject("metadata");
        s.put("status", succeeded ? "Success" : "Failure");
        if (!succeeded) {
            s.put("message", message);
            s.put("reason", reason);
            ObjectNode cause = s.putObject("details").putArray("causes").addObject();
            if (!causeType.isEmpty()) {
                cause.put("reason", causeType);
            }
            cause.put("message", causeMessage);
            if (code != 0) {
                s.put("code", code);
            }
        }
        try {
            return JSON.writeValueAsBytes(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The v1-v3 error-stream payload: nothing on success, the message on failure. */
    public byte[] text() {
        return succeeded ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
    }
}
