package dev.berth.server.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.berth.core.state.StateStore;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nobody but root lists the state root or the run root (CVE-2021-41103); others may only pass through
 * them (the CRI socket, a user-namespaced container's root filesystem). What holds data is root's only.
 */
class CoreProducersTest {
    @TempDir
    Path tmp;

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void rootsAreCreatedAndTightened() throws Exception {
        Path root = Files.createDirectory(tmp.resolve("root"));
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path run = tmp.resolve("run");
        BerthConfig config = ConfigLoader.load(tmp.resolve("absent.yaml"), false,
                Map.of("BERTH_ROOT", root.toString(), "BERTH_RUN", run.toString()));
        try (StateStore store = new CoreProducers().stateStore(config)) {
            assertEquals("rwx--x--x", mode(root));
            assertEquals("rwx------", mode(root.resolve("state")));
            assertEquals("rw-------", mode(store.file()));
            assertEquals("rwx--x--x", mode(run));
        }
    }
}
