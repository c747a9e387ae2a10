package dev.berth.core.fs;

import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * berth's roots hold unpacked images (setuid binaries, device nodes) and secrets (env in the
 * state store): no other local user may list or traverse them. Every root is created with these
 * modes and an existing one is tightened at start, as containerd did after CVE-2021-41103.
 * Modes are set explicitly after creation: the umask would otherwise decide.
 */
public final class OwnerOnly {
    private static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> TRAVERSABLE = PosixFilePermissions.fromString("rwx--x--x");
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private OwnerOnly() {}

    /** Creates {@code dir} (and missing parents) and makes it 0700. */
    public static Path directory(Path dir) {
        return ensure(dir, DIR, "0700");
    }

    /**
     * Creates {@code dir} and makes it 0711: others may reach a path inside they know (the CRI socket)
     * but not list it, as containerd's /run/containerd.
     */
    public static Path traversableDirectory(Path dir) {
        return ensure(dir, TRAVERSABLE, "0711");
    }

    /** Makes an existing file 0600; an absent one is left absent. */
    public static void file(Path file) {
        try {
            Files.setPosixFilePermissions(file, FILE);
        } catch (NoSuchFileException e) {
            // nothing to tighten
        } catch (IOException e) {
            throw BerthException.internal("cannot make " + file + " readable by its owner only (0600): " + e, e);
        }
    }

    /**
     * Writes {@code text} to {@code file}, created 0600 before any byte lands in it (a spec holds the
     * container's env, which may carry secrets). An existing file is replaced and tightened.
     */
    public static void writeFile(Path file, String text) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE));
        Files.writeString(file, text);
    }

    private static Path ensure(Path dir, Set<PosixFilePermission> mode, String octal) {
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, mode);
            return dir;
        } catch (IOException e) {
            throw BerthException.internal("cannot create " + dir + " with mode " + octal + ": " + e, e);
        }
    }
}
