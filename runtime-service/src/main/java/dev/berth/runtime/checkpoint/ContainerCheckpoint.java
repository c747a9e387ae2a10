package dev.berth.runtime.checkpoint;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.oci.OciRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Writes one running container's checkpoint archive: CRIU dumps it through the OCI runtime with
 * the container left running (kubelet's forensic checkpoint), then its spec, the writable layer's
 * changes and config.dump join the images in a tar at the requested location.
 */
public final class ContainerCheckpoint {
    private ContainerCheckpoint() {}

    /** What is checkpointed: the container's identity, files and runtime. */
    public record Source(String id, String name, String image, String imageId, String imageRef, String handler,
            long createdAtNanos, Path containerDir, Path configJson, Path upper, OciRuntime runtime, String podId) {}

    /** Validates {@code location}: an absolute path whose directory exists. */
    public static Path location(String location) {
        if (location == null || location.isEmpty()) {
            throw BerthException.invalid("checkpoint location is empty; give the absolute path of the archive to write");
        }
        Path p = Path.of(location);
        if (!p.isAbsolute()) {
            throw BerthException.invalid("checkpoint location %s is not an absolute path", location);
        }
        if (p.getParent() == null || !Files.isDirectory(p.getParent())) {
            throw BerthException.invalid("checkpoint location %s: directory %s does not exist", location, p.getParent());
        }
        if (Files.isDirectory(p)) {
            throw BerthException.invalid("checkpoint location %s is a directory; give the archive's file path", location);
        }
        return p;
    }

    /**
     * Dumps the container (left running) and writes the archive; the work directory is removed. The
     * container is frozen meanwhile, so that the writable layer's changes are those of the moment
     * CRIU's images show (a process writing files while tar reads them made the archive fail).
     */
    public static void write(Source s, Path location, long timeoutSeconds, CriuSupport criu) {
        criu.require("checkpointing container " + s.id());
        s.runtime().pause(s.id());
        RuntimeException failure = null;
        try {
            writeFrozen(s, location, timeoutSeconds, criu);
        } catch (RuntimeException e) {
            failure = e;
            throw e;
        } finally {
            try {
                thaw(s);
            } catch (RuntimeException e) {
                if (failure == null) {
                    throw e;
                }
                failure.addSuppressed(e);
            }
        }
    }

    /** Thaws a container frozen for its checkpoint; one CRIU already thawed, or that ended, is fine. */
    static void thaw(Source s) {
        try {
            s.runtime().resume(s.id());
        } catch (RuntimeException e) {
            if (s.runtime().state(s.id()).map(st -> st.status().equals("paused")).orElse(false)) {
                throw e;
            }
        }
    }

    /** As {@link #write}, for a container its caller has frozen (CheckpointPod freezes the whole pod). */
    static void writeFrozen(Source s, Path location, long timeoutSeconds, CriuSupport criu) {
        criu.require("checkpointing container " + s.id());
        Path work = null;
        try {
            work = Files.createTempDirectory(s.containerDir(), "checkpoint-");
            Path content = Files.createDirectories(work.resolve("archive"));
            Path images = Files.createDirectories(content.resolve(CheckpointArchive.CHECKPOINT_DIR));
            Path criuWork = Files.createDirectories(work.resolve("criu"));
            long timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : 600_000;
            Path log = criuWork.resolve(CheckpointArchive.DUMP_LOG);
            try {
                s.runtime().checkpoint(s.id(), images, criuWork, timeoutMs);
            } catch (BerthException e) {
                // the work directory goes away below: CRIU's own errors go into the answer
                if (e.kind() != dev.berth.core.error.ErrorKind.INTERNAL) {
                    throw e;
                }
                throw BerthException.internal(e.getMessage() + "; " + CheckpointArchive.DUMP_LOG + ": "
                        + criuErrors(log), e);
            }
            if (Files.isRegularFile(log)) {
                Files.copy(log, content.resolve(CheckpointArchive.DUMP_LOG));
            }
            Files.copy(s.configJson(), content.resolve(CheckpointArchive.SPEC_DUMP));
            CheckpointArchive.writeRootfsDiff(s.upper(), content);
            CheckpointArchive.writeConfigDump(content, new CheckpointArchive.ContainerConfigDump(s.id(), s.name(),
                    s.image(), s.imageId(), s.image(), s.handler(), iso(s.createdAtNanos()),
                    Instant.now().toString()));
            CheckpointArchive.pack(content, location);
        } catch (IOException e) {
            throw BerthException.internal("checkpoint of container " + s.id() + " to " + location + " failed: " + e, e);
        } finally {
            if (work != null) {
                try {
                    CheckpointArchive.deleteTree(work);
                } catch (IOException ignored) {
                    // removed with the container at the latest
                }
            }
        }
    }

    private static String criuErrors(Path log) {
        try {
            java.util.List<String> errors = Files.readAllLines(log).stream().filter(l -> l.contains("Error")).toList();
            return errors.isEmpty() ? "(no errors in " + CheckpointArchive.DUMP_LOG + ")"
                    : String.join("; ", errors.subList(Math.max(0, errors.size() - 5), errors.size()));
        } catch (IOException e) {
            return "(no " + CheckpointArchive.DUMP_LOG + ")";
        }
    }

    private static String iso(long nanos) {
        return Instant.ofEpochSecond(nanos / 1_000_000_000L, nanos % 1_000_000_000L).toString();
    }
}
