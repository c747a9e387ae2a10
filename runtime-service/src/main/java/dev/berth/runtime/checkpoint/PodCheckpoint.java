package dev.berth.runtime.checkpoint;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A pod checkpoint (CheckpointPod): CRI leaves its layout to the runtime and CRI-O has none, so
 * berth's is a directory (the request's {@code output_path}) holding
 * <ul>
 *   <li>{@code pod.dump}: JSON naming the pod (name, namespace, uid, attempt, runtime handler),
 *       when it was checkpointed and, per container, its name, id, image and archive;</li>
 *   <li>{@code containers/<name>.tar}: one container checkpoint archive per container, in the
 *       layout of {@link CheckpointArchive} (CRI-O's), so each one can also be restored alone with
 *       CreateContainer.</li>
 * </ul>
 * Every selected container is frozen before the first is dumped and thawed only after the last
 * (one consistent cut of the pod), and all of them are thawed again whatever happens.
 */
public final class PodCheckpoint {
    public static final String POD_DUMP = "pod.dump";
    public static final String CONTAINERS_DIR = "containers";
    public static final int VERSION = 1;
    private static final Pattern CONTAINER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,252}");

    private PodCheckpoint() {}

    /** What pod.dump holds. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record PodDump(int version, String podSandboxId, String name, String namespace, String uid, int attempt,
            String runtimeHandler, String checkpointedTime, List<Container> containers) {}

    /** One container of pod.dump; {@code archive} is relative to the checkpoint directory. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Container(String name, String id, String image, String imageRef, String archive) {}

    /** The pod whose containers are checkpointed, as pod.dump names it. */
    public record Pod(String id, String name, String namespace, String uid, int attempt, String runtimeHandler) {}

    /**
     * Validates {@code output_path}: absolute, an existing empty directory (the caller owns it; berth
     * writes only inside it).
     */
    public static Path outputDir(String outputPath) {
        if (outputPath == null || outputPath.isEmpty()) {
            throw BerthException.invalid("CheckpointPod: output_path is empty; give an existing, empty directory");
        }
        Path p = Path.of(outputPath);
        if (!p.isAbsolute()) {
            throw BerthException.invalid("CheckpointPod: output_path %s is not an absolute path", outputPath);
        }
        if (!Files.isDirectory(p)) {
            throw BerthException.invalid("CheckpointPod: output_path %s is not an existing directory", outputPath);
        }
        try (var entries = Files.list(p)) {
            if (entries.findAny().isPresent()) {
                throw BerthException.invalid("CheckpointPod: output_path %s is not empty", outputPath);
            }
        } catch (IOException e) {
            throw BerthException.invalid("CheckpointPod: cannot read output_path %s: %s", outputPath, e.getMessage());
        }
        return p;
    }

    /** container_ids: not empty, no duplicates. */
    public static List<String> containerIds(List<String> ids) {
        if (ids.isEmpty()) {
            throw BerthException.invalid("CheckpointPod: container_ids is empty; name the running containers to "
                    + "checkpoint");
        }
        Set<String> seen = new HashSet<>();
        for (String id : ids) {
            if (id.isEmpty()) {
                throw BerthException.invalid("CheckpointPod: container_ids holds an empty id");
            }
            if (!seen.add(id)) {
                throw BerthException.invalid("CheckpointPod: container %s is listed twice in container_ids", id);
            }
        }
        return List.copyOf(ids);
    }

    /** berth knows no checkpoint or restore options: any key is refused rather than ignored. */
    public static void noOptions(String rpc, Map<String, String> options) {
        if (!options.isEmpty()) {
            throw BerthException.invalid("%s: berth supports no options; unsupported: %s", rpc,
                    String.join(", ", options.keySet().stream().sorted().toList()));
        }
    }

    /**
     * Freezes every container, dumps each into {@code dir/containers/<name>.tar}, thaws them all and
     * writes pod.dump. On failure everything written under {@code dir} is removed (not {@code dir}).
     *
     * @param deadlineNanos {@link System#nanoTime()} by which the whole checkpoint must be done
     */
    public static void write(Pod pod, List<ContainerCheckpoint.Source> sources, Path dir, long deadlineNanos,
            CriuSupport criu) {
        Set<String> names = new HashSet<>();
        for (ContainerCheckpoint.Source s : sources) {
            if (!s.podId().equals(pod.id())) {
                throw BerthException.invalid("CheckpointPod: container %s belongs to pod %s, not %s", s.id(),
                        s.podId(), pod.id());
            }
            if (!CONTAINER_NAME.matcher(s.name()).matches() || !names.add(s.name())) {
                throw BerthException.invalid("CheckpointPod: container %s has a name (%s) that cannot name its "
                        + "archive or is not unique in the pod", s.id(), s.name());
            }
        }
        criu.require("checkpointing pod " + pod.id());
        List<ContainerCheckpoint.Source> frozen = new ArrayList<>();
        try {
            Path containersDir = Files.createDirectories(dir.resolve(CONTAINERS_DIR));
            for (ContainerCheckpoint.Source s : sources) {
                s.runtime().pause(s.id());
                frozen.add(s);
            }
            List<Container> entries = new ArrayList<>();
            for (ContainerCheckpoint.Source s : sources) {
                long left = (deadlineNanos - System.nanoTime()) / 1_000_000_000L;
                if (left <= 0) {
                    throw new BerthException(ErrorKind.DEADLINE_EXCEEDED, "CheckpointPod: the deadline passed before "
                            + "container " + s.id() + " was checkpointed");
                }
                String archive = CONTAINERS_DIR + "/" + s.name() + ".tar";
                ContainerCheckpoint.writeFrozen(s, containersDir.resolve(s.name() + ".tar"), left, criu);
                entries.add(new Container(s.name(), s.id(), s.image(), s.imageId(), archive));
            }
            thaw(frozen);
            frozen.clear();
            PodDump dump = new PodDump(VERSION, pod.id(), pod.name(), pod.namespace(), pod.uid(), pod.attempt(),
                    pod.runtimeHandler(), Instant.now().toString(), entries);
            Path partial = dir.resolve("." + POD_DUMP + ".partial");
            Files.write(partial, CheckpointArchive.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(dump));
            Files.move(partial, dir.resolve(POD_DUMP), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            RuntimeException thrown = e instanceof RuntimeException re ? re
                    : BerthException.internal("checkpoint of pod " + pod.id() + " to " + dir + " failed: " + e, e);
            try {
                thaw(frozen);
            } catch (RuntimeException te) {
                thrown.addSuppressed(te);
            }
            removeContents(dir, thrown);
            throw thrown;
        }
    }

    /** Thaws every frozen container; the first failure is thrown after all were tried. */
    private static void thaw(List<ContainerCheckpoint.Source> frozen) {
        RuntimeException first = null;
        for (ContainerCheckpoint.Source s : frozen) {
            try {
                ContainerCheckpoint.thaw(s);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static void removeContents(Path dir, RuntimeException failure) {
        try (var entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                CheckpointArchive.deleteTree(p);
            }
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /** Reads and checks pod.dump of a pod checkpoint directory. */
    public static PodDump read(String checkpointPath) {
        if (checkpointPath == null || checkpointPath.isEmpty()) {
            throw BerthException.invalid("RestorePod: checkpoint_path is empty");
        }
        Path dir = Path.of(checkpointPath);
        if (!dir.isAbsolute()) {
            throw BerthException.invalid("RestorePod: checkpoint_path %s is not an absolute path", checkpointPath);
        }
        Path dumpFile = dir.resolve(POD_DUMP);
        if (!Files.isRegularFile(dumpFile)) {
            throw BerthException.invalid("RestorePod: %s is not a berth pod checkpoint (no %s)", checkpointPath,
                    POD_DUMP);
        }
        PodDump dump;
        try {
            dump = CheckpointArchive.JSON.readValue(dumpFile.toFile(), PodDump.class);
        } catch (IOException e) {
            throw BerthException.invalid("RestorePod: %s has an unreadable %s: %s", checkpointPath, POD_DUMP,
                    e.getMessage());
        }
        if (dump.version() != VERSION) {
            throw BerthException.invalid("RestorePod: %s is a pod checkpoint of version %d; berth reads version %d",
                    checkpointPath, dump.version(), VERSION);
        }
        if (dump.containers() == null || dump.containers().isEmpty()) {
            throw BerthException.invalid("RestorePod: %s lists no containers", checkpointPath);
        }
        for (Container c : dump.containers()) {
            Path archive = dir.resolve(c.archive()).normalize();
            if (!archive.startsWith(dir) || !Files.isRegularFile(archive)) {
                throw BerthException.invalid("RestorePod: container %s's archive %s is missing from %s", c.name(),
                        c.archive(), checkpointPath);
            }
        }
        return dump;
    }

    /** The absolute path of a container's archive in the checkpoint directory. */
    public static Path archive(String checkpointPath, Container c) {
        return Path.of(checkpointPath).resolve(c.archive()).normalize();
    }
}
