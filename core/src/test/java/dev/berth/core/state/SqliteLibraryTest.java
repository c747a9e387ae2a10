package dev.berth.core.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteLibraryTest {
    @TempDir
    Path dir;

    private String path;
    private String name;

    @BeforeEach
    void clear() {
        path = System.clearProperty(SqliteLibrary.PATH_PROPERTY);
        name = System.clearProperty(SqliteLibrary.NAME_PROPERTY);
    }

    @AfterEach
    void restore() {
        System.clearProperty(SqliteLibrary.PATH_PROPERTY);
        System.clearProperty(SqliteLibrary.NAME_PROPERTY);
        if (path != null) {
            System.setProperty(SqliteLibrary.PATH_PROPERTY, path);
        }
        if (name != null) {
            System.setProperty(SqliteLibrary.NAME_PROPERTY, name);
        }
    }

    @Test
    void oneCopyPerBuildBesideTheStoreAndTheDriverPointedAtIt() throws Exception {
        Path lib = SqliteLibrary.useCopyIn(dir).orElseThrow();
        assertEquals(dir, lib.getParent().getParent());
        assertEquals("libsqlitejdbc.so", lib.getFileName().toString(), "the driver's own name (its fallback uses it)");
        assertTrue(lib.getParent().getFileName().toString().matches("sqlite-native-[0-9a-f]{16}"), lib.toString());
        try (InputStream in = org.sqlite.JDBC.class.getResourceAsStream("/org/sqlite/native/"
                + org.sqlite.util.OSInfo.getNativeLibFolderPathForCurrentOS() + "/libsqlitejdbc.so")) {
            assertArrayEquals(in.readAllBytes(), Files.readAllBytes(lib), "the bundled library, whole");
        }
        assertEquals(lib.getParent().toString(), System.getProperty(SqliteLibrary.PATH_PROPERTY));

        // the next start (a restart after kill -9) finds it and writes nothing
        FileTime written = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(lib, written);
        System.clearProperty(SqliteLibrary.PATH_PROPERTY);
        System.clearProperty(SqliteLibrary.NAME_PROPERTY);
        assertEquals(Optional.of(lib), SqliteLibrary.useCopyIn(dir));
        assertEquals(written, Files.getLastModifiedTime(lib));
        try (var files = Files.walk(dir)) {
            assertEquals(List.of(dir, lib.getParent(), lib), files.sorted().toList(), "one file, no temporary copy left");
        }
    }

    /** The build is named from the jar's directory (CRC-32, size), without reading the library; unpacked, by its digest. */
    @Test
    void theBuildIsNamedFromTheJarEntryOrElseFromTheBytes() throws Exception {
        String resource = "/org/sqlite/native/" + org.sqlite.util.OSInfo.getNativeLibFolderPathForCurrentOS()
                + "/libsqlitejdbc.so";
        java.net.URL inJar = org.sqlite.JDBC.class.getResource(resource);
        byte[] bytes;
        try (InputStream in = inJar.openStream()) {
            bytes = in.readAllBytes();
        }
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(bytes);
        assertEquals("%08x%08x".formatted(crc.getValue(), bytes.length), SqliteLibrary.buildId(inJar));

        Path unpacked = Files.write(dir.resolve("libsqlitejdbc.so"), bytes);
        String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        assertEquals(sha.substring(0, 16), SqliteLibrary.buildId(unpacked.toUri().toURL()));
        Files.write(unpacked, new byte[] {1, 2, 3});
        assertNotEquals(sha.substring(0, 16), SqliteLibrary.buildId(unpacked.toUri().toURL()), "other bytes, other name");
    }

    @Test
    void aLibraryTheOperatorChoseIsLeftAlone() throws Exception {
        System.setProperty(SqliteLibrary.PATH_PROPERTY, "/opt/sqlite");
        assertEquals(Optional.empty(), SqliteLibrary.useCopyIn(dir));
        assertEquals("/opt/sqlite", System.getProperty(SqliteLibrary.PATH_PROPERTY));
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }
}
