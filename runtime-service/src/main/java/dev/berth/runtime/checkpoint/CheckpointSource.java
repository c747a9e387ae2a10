package dev.berth.runtime.checkpoint;

import dev.berth.core.error.BerthException;
import dev.berth.image.LocalImage;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Optional;

/**
 * Where a container restored by CreateContainer comes from, in CRI-O's two conventions: the image
 * is the absolute path of a checkpoint archive, or it names an image in the store whose manifest
 * carries the annotation {@value #IMAGE_ANNOTATION} (an image built from a checkpoint archive, e.g.
 * {@code buildah add ... archive.tar /} + {@code buildah config --annotation=...}): its layers
 * hold the archive's files (config.dump, spec.dump, checkpoint/, rootfs-diff.tar, ...).
 *
 * @param origin what CreateContainer named (path or image reference)
 * @param config the container's config.dump
 * @param archive the archive file, or null for a checkpoint image
 * @param layers the checkpoint image's layer directories, top-most first (empty for an archive)
 */
public record CheckpointSource(String origin, CheckpointArchive.ContainerConfigDump config, Path archive,
        List<Path> layers) {
    /** The manifest annotation CRI-O (and kubelet's documentation) uses to mark a checkpoint image. */
    public static final String IMAGE_ANNOTATION = "io.kubernetes.cri-o.annotations.checkpoint.name";

    /** Whether {@code image} is written as a path rather than an image reference. */
    public static boolean isPath(String image) {
        return image != null && image.startsWith("/");
    }

    /**
     * The checkpoint {@code image} names: an archive file when it is an absolute path, a checkpoint
     * image when {@code named} (what the store found for it) carries the annotation; empty for an
     * ordinary image.
     */
    public static Optional<CheckpointSource> detect(String image, Optional<LocalImage> named) {
        if (isPath(image)) {
            return CheckpointArchive.detect(image).map(c -> new CheckpointSource(image, c, Path.of(image), List.of()));
        }
        if (named.isEmpty() || !named.get().annotations().containsKey(IMAGE_ANNOTATION)) {
            return Optional.empty();
        }
        List<Path> layers = named.get().lowerDirs();
        Path configDump = find(layers, CheckpointArchive.CONFIG_DUMP).orElseThrow(() -> BerthException.invalid(
                "image %s is marked as a checkpoint (%s) but holds no %s", image, IMAGE_ANNOTATION,
                CheckpointArchive.CONFIG_DUMP));
        try {
            return Optional.of(new CheckpointSource(image, CheckpointArchive.JSON.readValue(configDump.toFile(),
                    CheckpointArchive.ContainerConfigDump.class), null, List.copyOf(layers)));
        } catch (IOException e) {
            throw BerthException.invalid("checkpoint image %s has an unreadable %s: %s", image,
                    CheckpointArchive.CONFIG_DUMP, e.getMessage());
        }
    }

    /** The image the checkpointed container ran: the restored one's root filesystem comes from it. */
    public String baseImage() {
        String name = config.rootfsImageName();
        if (name == null || name.isEmpty()) {
            throw BerthException.invalid("checkpoint %s: %s names no image", origin, CheckpointArchive.CONFIG_DUMP);
        }
        return name;
    }

    /** Puts the checkpoint's files into {@code dir} (unpacked archive, or the image's layers merged). */
    public void unpackInto(Path dir) throws IOException {
        if (archive != null) {
            CheckpointArchive.unpack(archive, dir);
            return;
        }
        Files.createDirectories(dir);
        // bottom layer first: an upper layer's file replaces a lower one's
        for (Path layer : layers.reversed()) {
            copyTree(layer, dir);
        }
        CheckpointArchive.requireParts(dir, origin);
    }

    private static Optional<Path> find(List<Path> layers, String name) {
        return layers.stream().map(l -> l.resolve(name)).filter(Files::isRegularFile).findFirst();
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
                Files.createDirectories(to.resolve(from.relativize(d).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Path target = to.resolve(from.relativize(f).toString());
                if (a.isRegularFile() || a.isSymbolicLink()) {
                    Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES,
                            LinkOption.NOFOLLOW_LINKS);
                }
                // whiteouts and devices have no place in a checkpoint's files
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
