package dev.berth.runtime.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A container created from a checkpoint archive: at CreateContainer the archive is unpacked into
 * the container's directory, the writable layer's changes laid over the image's root filesystem
 * and the checkpointed process put into the new spec (namespaces, mounts and cgroup stay those of
 * the new pod); StartContainer then restores the CRIU images instead of starting a fresh process.
 */
public final class ContainerRestore {
    private static final String RESTORE_DIR = "restore";

    private ContainerRestore() {}

    /** Unpacks the checkpoint for the container in {@code containerDir} and adjusts its spec. */
    public static void prepare(CheckpointSource source, Path containerDir, Path rootfs, ObjectNode spec)
            throws IOException {
        String archive = source.origin();
        Path unpacked = containerDir.resolve(RESTORE_DIR);
        source.unpackInto(unpacked);
        CheckpointArchive.applyRootfsDiff(unpacked, rootfs);
        JsonNode old = CheckpointArchive.JSON.readTree(CheckpointArchive.readSpec(unpacked));
        if (!old.path("process").isObject()) {
            throw BerthException.invalid("checkpoint archive %s: spec.dump has no process", archive);
        }
        // CRIU brings back the process as it was: its spec entry must say what it is (user,
        // capabilities, terminal), whatever the new ContainerConfig's command says.
        spec.set("process", old.get("process").deepCopy());
    }

    /** The CRIU images of a created-but-not-started restored container, empty for any other. */
    public static Optional<Path> pendingImages(Path containerDir) {
        Path images = containerDir.resolve(RESTORE_DIR).resolve(CheckpointArchive.CHECKPOINT_DIR);
        return Files.isDirectory(images) ? Optional.of(images) : Optional.empty();
    }

    /** Where runc restore keeps its work files and restore.log. */
    public static Path workDir(Path containerDir) throws IOException {
        return Files.createDirectories(containerDir.resolve(RESTORE_DIR).resolve("work"));
    }
}
