package dev.berth.core.state;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Where sqlite-jdbc loads its native library from. Left alone, it extracts the library to a new
 * randomly named file in /tmp at every JVM start and deletes it only at a clean exit: every
 * daemon killed with SIGKILL (or by the OOM killer) left a megabyte behind for good. berth keeps
 * one copy per library build beside the state store, in a directory named by the build, and
 * points the driver at it.
 */
final class SqliteLibrary {
    static final String PATH_PROPERTY = "org.sqlite.lib.path";
    static final String NAME_PROPERTY = "org.sqlite.lib.name";
    /** The file name the driver looks for (its default for {@link #NAME_PROPERTY}). */
    static final String LIBRARY = "libsqlitejdbc.so";

    private SqliteLibrary() {}

    /**
     * Before the driver's first use in this JVM: the bundled library for this platform, copied into
     * {@code dir} if it is not there yet. Nothing when an operator chose a library (the properties
     * are set) or the jar has none for this platform (the driver then looks as it always does).
     */
    static synchronized Optional<Path> useCopyIn(Path dir) throws IOException {
        if (System.getProperty(PATH_PROPERTY) != null || System.getProperty(NAME_PROPERTY) != null) {
            return Optional.empty();
        }
        String resource = "/org/sqlite/native/" + org.sqlite.util.OSInfo.getNativeLibFolderPathForCurrentOS()
                + "/" + LIBRARY;
        URL url = org.sqlite.JDBC.class.getResource(resource);
        if (url == null) {
            return Optional.empty();
        }
        // the driver's own file name in a directory named by the build: if the copy cannot be loaded
        // (a noexec state directory), the driver falls back to its usual extraction by that name
        Path libDir = dir.resolve("sqlite-native-" + buildId(url));
        Path target = libDir.resolve(LIBRARY);
        if (!Files.exists(target)) {
            byte[] lib;
            try (InputStream in = url.openStream()) {
                lib = in.readAllBytes();
            }
            Files.createDirectories(libDir);
            // written aside and renamed: a daemon killed mid-copy never leaves a half library under the name
            Path tmp = Files.createTempFile(libDir, ".libsqlitejdbc", ".tmp");
            try {
                Files.write(tmp, lib);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        System.setProperty(PATH_PROPERTY, libDir.toString());
        return Optional.of(target);
    }

    /**
     * 16 hex digits that differ between library builds. The name is all that ties the copy to the
     * build (an existing copy is used unread), so any identity of the bytes does; none is a check
     * against tampering, which a writer of the state directory could do to any name. From a jar:
     * the entry's CRC-32 and size, which the jar's directory recorded when it was built, so a start
     * reads neither the megabyte of library nor hashes it. Elsewhere (an unpacked class path): the
     * start of the SHA-256 of the bytes.
     */
    static String buildId(URL url) throws IOException {
        if (url.openConnection() instanceof JarURLConnection jar) {
            jar.setUseCaches(false); // the JarFile is ours to close, not the JDK's cached one
            try (JarFile file = jar.getJarFile()) {
                JarEntry e = file.getJarEntry(jar.getEntryName());
                if (e != null && e.getCrc() >= 0 && e.getSize() >= 0) {
                    return "%08x%08x".formatted(e.getCrc(), e.getSize() & 0xffffffffL);
                }
            }
        }
        try (InputStream in = url.openStream()) {
            return sha256(in.readAllBytes()).substring(0, 16);
        }
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
