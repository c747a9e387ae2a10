package dev.berth.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.berth.core.state.StateStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The image store's directories hold setuid binaries and device nodes of images: root only (CVE-2021-41103). */
class StorePermissionsTest {
    @TempDir
    Path tmp;

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void rootsAreCreatedAndTightenedOwnerOnly() throws Exception {
        Path root = tmp.resolve("images");
        Files.createDirectories(root.resolve("layers"));
        Files.createDirectories(root.resolve("blobs"));
        for (Path p : new Path[] {root, root.resolve("layers"), root.resolve("blobs")}) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        try (StateStore state = StateStore.open(tmp.resolve("state"));
                ImageManager images = ImageManager.open(ImageManager.Options.defaults(root), state, null)) {
            assertEquals("rwx------", mode(root));
            assertEquals("rwx------", mode(root.resolve("layers")));
            assertEquals("rwx------", mode(root.resolve("blobs")));
        }
        Path fresh = tmp.resolve("fresh");
        try (StateStore state = StateStore.open(tmp.resolve("state2"));
                ImageManager images = ImageManager.open(ImageManager.Options.defaults(fresh), state, null)) {
            assertEquals("rwx------", mode(fresh));
            assertEquals("rwx------", mode(fresh.resolve("layers")));
            assertEquals("rwx------", mode(fresh.resolve("blobs")));
        }
    }
}
