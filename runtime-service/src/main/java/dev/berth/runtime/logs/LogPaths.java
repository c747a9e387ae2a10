package dev.berth.runtime.logs;

import dev.berth.core.error.BerthException;
import java.nio.file.Path;

/**
 * Where a container's CRI log goes: the pod's log_directory joined with the container's log_path.
 * The result must stay inside log_directory: kubelet gives relative paths, and a "../" or an
 * absolute log_path would let a caller make the monitor write anywhere on the host.
 */
public final class LogPaths {
    private LogPaths() {}

    /** The absolute log file, or null when the pod asked for no logs (no log_directory and no log_path). */
    public static Path resolve(String logDirectory, String logPath) {
        if (logPath == null || logPath.isEmpty()) {
            return null;
        }
        if (logDirectory == null || logDirectory.isEmpty()) {
            throw BerthException.invalid("container log_path \"%s\" is set but the pod has no log_directory",
                    logPath);
        }
        if (!logDirectory.startsWith("/")) {
            throw BerthException.invalid("pod log_directory \"%s\" must be absolute", logDirectory);
        }
        if (logPath.startsWith("/") || logPath.contains("\0")) {
            throw BerthException.invalid("container log_path \"%s\" must be relative to the pod's log_directory",
                    logPath);
        }
        Path dir = Path.of(logDirectory).normalize();
        Path file = dir.resolve(logPath).normalize();
        if (!file.startsWith(dir) || file.equals(dir)) {
            throw BerthException.invalid("container log_path \"%s\" escapes the pod's log_directory %s",
                    logPath, logDirectory);
        }
        for (Path p = file; p != null && !p.equals(dir); p = p.getParent()) {
            if (java.nio.file.Files.isSymbolicLink(p)) {
                throw BerthException.invalid("container log_path \"%s\": %s is a symbolic link; berth does not "
                        + "follow links in log paths", logPath, p);
            }
        }
        return file;
    }
}
