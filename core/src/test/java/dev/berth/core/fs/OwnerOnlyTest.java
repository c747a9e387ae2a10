package dev.berth.core.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnerOnlyTest {
    @TempDir
    Path tmp;

    static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void createsMissingDirectoriesOwnerOnly() throws Exception {
        Path d = OwnerOnly.directory(tmp.resolve("a/b"));
        assertEquals("rwx------", mode(d));
    }

    @Test
    void tightensAnExistingDirectory() throws Exception {
        Path d = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        OwnerOnly.directory(d);
        assertEquals("rwx------", mode(d));
    }

    @Test
    void traversableKeepsOthersFromListing() throws Exception {
        Path d = Files.createDirectory(tmp.resolve("run"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
        OwnerOnly.traversableDirectory(d);
        assertEquals("rwx--x--x", mode(d));
    }

    @Test
    void tightensAFile() throws Exception {
        Path f = Files.writeString(tmp.resolve("f"), "secret");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        OwnerOnly.file(f);
        assertEquals("rw-------", mode(f));
        OwnerOnly.file(tmp.resolve("absent")); // nothing to tighten
    }

    @Test
    void writesASpecOwnerOnlyAndReplacesAnOpenOne() throws Exception {
        Path f = Files.writeString(tmp.resolve("config.json"), "old");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        OwnerOnly.writeFile(f, "{\"env\":[\"TOKEN=s3cret\"]}");
        assertEquals("rw-------", mode(f));
        assertEquals("{\"env\":[\"TOKEN=s3cret\"]}", Files.readString(f));
    }
}
