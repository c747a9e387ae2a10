package dev.berth.core.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Files that appear whole or not at all: the content goes to a hidden temporary sibling first
 * ({@code .<name>.tmp}), which then takes the file's name. A kill between the two leaves the
 * temporary file behind; the owner of the directory removes such leftovers with {@link
 * #listRemovingLeftovers} at its next start. Naming and cleanup live here together so they agree.
 */
public final class AtomicFiles {
    private static final String PREFIX = ".";
    private static final String SUFFIX = ".tmp";

    private AtomicFiles() {}

    /**
     * The temporary sibling a write of {@code target} goes through. One name per target: the caller
     * keeps two writers of one target apart (a lock), as it must anyway for the result to be defined.
     */
    public static Path temporaryFor(Path target) {
        return target.resolveSibling(PREFIX + target.getFileName() + SUFFIX);
    }

    /** Whether {@code file} is named as {@link #temporaryFor} names a temporary file. */
    public static boolean isTemporary(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(PREFIX) && name.endsWith(SUFFIX);
    }

    /** Writes {@code content} to {@code target}, replacing it by rename: readers see the old or the new file. */
    public static void replace(Path target, byte[] content) throws IOException {
        Path tmp = temporaryFor(target);
        Files.write(tmp, content);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Lists {@code dir} once, deleting the temporary files that interrupted writes left, and returns
     * the other entries; an absent directory lists empty. Only while no write into {@code dir} runs
     * (at start, or under the lock its writers take): a write in flight would lose its temporary file.
     */
    public static List<Path> listRemovingLeftovers(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                if (isTemporary(f)) {
                    Files.deleteIfExists(f);
                } else {
                    out.add(f);
                }
            }
        }
        return out;
    }
}
