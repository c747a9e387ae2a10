package dev.berth.core.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
