package dev.berth.image;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An image present in the local store, as the container side needs it.
 *
 * @param id the image id: the digest of its config blob ("sha256:...")
 * @param lowerDirs unpacked layer directories for an overlay mount, top-most layer first
 *     (the order overlayfs's {@code lowerdir=} option takes)
 * @param annotations the image manifest's annotations (a checkpoint image is marked by one)
 */
public record LocalImage(
        String id,
        List<String> repoTags,
        List<String> repoDigests,
        long size,
        Config config,
        List<Path> lowerDirs,
        Map<String, String> annotations) {

    /** An image whose manifest has no annotations. */
    public LocalImage(String id, List<String> repoTags, List<String> repoDigests, long size, Config config,
            List<Path> lowerDirs) {
        this(id, repoTags, repoDigests, size, config, lowerDirs, Map.of());
    }

    /** The parts of the OCI image config ("config" object) that shape a container. */
    public record Config(
            String user,
            List<String> entrypoint,
            List<String> cmd,
            List<String> env,
            String workingDir,
            String stopSignal,
            Map<String, String> labels) {}
}
