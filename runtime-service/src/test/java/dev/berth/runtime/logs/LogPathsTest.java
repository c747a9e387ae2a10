package dev.berth.runtime.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.berth.core.error.BerthException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogPathsTest {
    @TempDir
    Path dir;

    @Test
    void staysInsideTheLogDirectory() throws Exception {
        assertEquals(dir.resolve("c/0.log"), LogPaths.resolve(dir.toString(), "c/0.log"));
        assertNull(LogPaths.resolve("", ""));
        assertThrows(BerthException.class, () -> LogPaths.resolve(dir.toString(), "../x.log"));
        assertThrows(BerthException.class, () -> LogPaths.resolve(dir.toString(), "c/../../x.log"));
        assertThrows(BerthException.class, () -> LogPaths.resolve(dir.toString(), "/etc/x.log"));
        assertThrows(BerthException.class, () -> LogPaths.resolve("", "x.log"));
        Files.createSymbolicLink(dir.resolve("link"), Path.of("/etc"));
        assertThrows(BerthException.class, () -> LogPaths.resolve(dir.toString(), "link/x.log"));
    }
}
