package dev.berth.runtime.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.berth.core.error.BerthException;
import dev.berth.linux.RuntimeCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A container checkpoint archive in the layout kubelet's ContainerCheckpoint feature, CRI-O and
 * checkpointctl use: an uncompressed tar holding {@code checkpoint/} (CRIU's images),
 * {@code config.dump} (which container, from which image), {@code spec.dump} (its OCI spec),
 * {@code rootfs-diff.tar} (files the container added or changed in its writable layer) and
 * {@code deleted.files} (JSON list of paths it deleted), plus CRIU's {@code dump.log}.
 */
public final class CheckpointArchive {
    public static final String CHECKPOINT_DIR = "checkpoint";
    public static final String CONFIG_DUMP = "config.dump";
    public static final String SPEC_DUMP = "spec.dump";
    public static final String ROOTFS_DIFF = "rootfs-diff.tar";
    public static final String DELETED_FILES = "deleted.files";
    public static final String DUMP_LOG = "dump.log";

    static final ObjectMapper JSON = new ObjectMapper();
    private static final long TAR_TIMEOUT_MS = 600_000;

    private CheckpointArchive() {}

    /** What config.dump says about the checkpointed container. */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
    public record ContainerConfigDump(String id, String name, String rootfsImage, String rootfsImageRef,
            String rootfsImageName, String runtime, String createdTime, String checkpointedTime) {}

    /**
     * The config.dump of {@code image} when it names a checkpoint archive (an absolute path of a
     * regular file holding config.dump and spec.dump, as CRI-O accepts in CreateContainer's image),
     * empty when it is an image reference.
     */
    public static Optional<ContainerConfigDump> detect(String image) {
        if (image == null || !image.startsWith("/")) {
            return Optional.empty();
        }
        Path p = Path.of(image);
        if (!Files.isRegularFile(p)) {
            return Optional.empty();
        }
        RuntimeCommand.Result r = RuntimeCommand.run(List.of("tar", "-xOf", p.toString(), CONFIG_DUMP),
                Map.of(), TAR_TIMEOUT_MS, 1 << 20, null);
        if (!r.ok()) {
            throw BerthException.invalid("image %s is a file but not a checkpoint archive (no %s): %s", image,
                    CONFIG_DUMP, r.err());
        }
        try {
            return Optional.of(JSON.readValue(r.stdout(), ContainerConfigDump.class));
        } catch (IOException e) {
            throw BerthException.invalid("checkpoint archive %s has an unreadable %s: %s", image, CONFIG_DUMP,
                    e.getMessage());
        }
    }

    /** Writes config.dump into the archive directory. */
    static void writeConfigDump(Path dir, ContainerConfigDump c) throws IOException {
        Files.write(dir.resolve(CONFIG_DUMP), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(c));
    }

    /**
     * Writes rootfs-diff.tar and deleted.files from an overlay upper directory: whiteouts (character
     * devices 0:0) are deletions, everything else is an added or changed file.
     */
    static void writeRootfsDiff(Path upper, Path dir) throws IOException {
        List<String> changed = new ArrayList<>();
        ArrayNode deleted = JSON.createArrayNode();
        try (var walk = Files.walk(upper)) {
            for (Path p : walk.sorted().toList()) {
                if (p.equals(upper)) {
                    continue;
                }
                String rel = upper.relativize(p).toString();
                if (whiteout(p)) {
                    deleted.add(rel);
                } else {
                    changed.add(rel);
                }
            }
        }
        Path list = dir.resolveSibling(dir.getFileName() + ".files");
        Files.writeString(list, String.join("\0", changed) + (changed.isEmpty() ? "" : "\0"));
        try {
            tar(List.of("tar", "--xattrs", "--numeric-owner", "--no-recursion", "--null", "-cf",
                    dir.resolve(ROOTFS_DIFF).toString(), "-C", upper.toString(), "-T", list.toString()));
        } finally {
            Files.deleteIfExists(list);
        }
        Files.write(dir.resolve(DELETED_FILES), JSON.writeValueAsBytes(deleted));
    }

    /** Applies rootfs-diff.tar and deleted.files of an unpacked archive over a mounted root filesystem. */
    public static void applyRootfsDiff(Path unpacked, Path rootfs) throws IOException {
        Path diff = unpacked.resolve(ROOTFS_DIFF);
        if (Files.isRegularFile(diff)) {
            tar(List.of("tar", "--xattrs", "--numeric-owner", "-xpf", diff.toString(), "-C", rootfs.toString()));
        }
        Path deleted = unpacked.resolve(DELETED_FILES);
        if (Files.isRegularFile(deleted)) {
            for (JsonNode n : JSON.readTree(deleted.toFile())) {
                Path target = rootfs.resolve(n.asText()).normalize();
                if (!target.startsWith(rootfs)) {
                    throw BerthException.invalid("checkpoint archive deletes %s, outside the root filesystem",
                            n.asText());
                }
                deleteTree(target);
            }
        }
    }

    /** Packs {@code dir} into the archive at {@code location}, replacing it only once complete. */
    static void pack(Path dir, Path location) throws IOException {
        Path partial = location.resolveSibling("." + location.getFileName() + ".partial");
        try {
            // members named as CRI-O names them (config.dump, checkpoint/...), without a "./" prefix
            List<String> argv = new ArrayList<>(List.of("tar", "--numeric-owner", "-cf", partial.toString(), "-C",
                    dir.toString()));
            try (var top = Files.list(dir)) {
                top.map(p -> p.getFileName().toString()).sorted().forEach(argv::add);
            }
            tar(argv);
            Files.move(partial, location, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    /** Unpacks a checkpoint archive into {@code dir}. */
    public static void unpack(Path archive, Path dir) throws IOException {
        Files.createDirectories(dir);
        tar(List.of("tar", "--numeric-owner", "-xpf", archive.toString(), "-C", dir.toString()));
        requireParts(dir, archive.toString());
    }

    /** INVALID_ARGUMENT unless {@code dir} holds config.dump, spec.dump and checkpoint/. */
    static void requireParts(Path dir, String origin) {
        for (String required : List.of(CONFIG_DUMP, SPEC_DUMP, CHECKPOINT_DIR)) {
            if (!Files.exists(dir.resolve(required))) {
                throw BerthException.invalid("checkpoint %s lacks %s", origin, required);
            }
        }
    }

    public static String readSpec(Path unpacked) throws IOException {
        return Files.readString(unpacked.resolve(SPEC_DUMP), StandardCharsets.UTF_8);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    private static boolean whiteout(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,rdev", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        return (mode & 0170000) == 0020000 && ((Long) a.get("rdev")) == 0L;
    }

    private static void tar(List<String> argv) {
        RuntimeCommand.Result r = RuntimeCommand.run(argv, Map.of(), TAR_TIMEOUT_MS, 64 * 1024, null);
        if (!r.ok()) {
            throw BerthException.internal(String.join(" ", argv.subList(0, 2)) + " failed: " + r.err(), null);
        }
    }
}
