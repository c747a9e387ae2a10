package dev.berth.runtime.spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Reads small files out of a container's root filesystem without following symlinks: an image
 * may ship /etc/passwd as a link to a host path, and berth must never read outside the root.
 */
public final class RootfsFiles {
    private static final long MAX = 4 << 20;

    private RootfsFiles() {}

    /** The lines of {@code root/relative}, or empty when absent, a symlink on the way, or too large. */
    public static Optional<List<String>> lines(Path root, String relative) {
        Path p = root;
        for (String part : relative.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                return Optional.empty();
            }
            p = p.resolve(part);
            if (Files.isSymbolicLink(p)) {
                return Optional.empty();
            }
        }
        try {
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) || Files.size(p) > MAX) {
                return Optional.empty();
            }
            return Optional.of(Files.readAllLines(p));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
