package dev.berth.core.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateStoreTest {
    record Pod(String id, String name, int attempt) {}

    @TempDir
    Path dir;

    @Test
    void recordsSurviveReopen() {
        try (StateStore s = StateStore.open(dir)) {
            s.put("pod", "a", new Pod("a", "web", 1));
            s.put("pod", "b", new Pod("b", "db", 0));
        }
        try (StateStore s = StateStore.open(dir)) {
            assertEquals(StateStore.SCHEMA_VERSION, s.schemaVersion());
            assertEquals(new Pod("a", "web", 1), s.get("pod", "a", Pod.class).orElseThrow());
            assertEquals(List.of("a", "b"), s.list("pod", Pod.class).stream().map(Pod::id).toList());
            assertTrue(s.delete("pod", "a"));
            assertFalse(s.delete("pod", "a"));
            assertTrue(s.get("pod", "a", Pod.class).isEmpty());
        }
    }

    @Test
    void failedTransactionLeavesNothing() {
        try (StateStore s = StateStore.open(dir)) {
            assertThrows(IllegalStateException.class, () -> s.atomically(() -> {
                s.put("pod", "x", new Pod("x", "x", 0));
                throw new IllegalStateException("boom");
            }));
            assertTrue(s.get("pod", "x", Pod.class).isEmpty());
        }
    }

    @Test
    void storeIsReadableByRootOnly() throws Exception {
        Path state = dir.resolve("state");
        java.nio.file.Files.createDirectories(state);
        java.nio.file.Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (StateStore s = StateStore.open(state)) {
            s.put("pod", "a", new Pod("a", "web", 1));
        }
        java.nio.file.Files.setPosixFilePermissions(state.resolve("berth.db"), PosixFilePermissions.fromString("rw-r--r--"));
        try (StateStore s = StateStore.open(state)) {
            s.put("pod", "b", new Pod("b", "web", 1));
            assertEquals("rwx------", mode(state));
            try (var files = java.nio.file.Files.list(state)) {
                for (Path f : files.toList()) {
                    assertEquals("rw-------", mode(f), f.toString());
                }
            }
        }
    }

    private static String mode(Path p) throws java.io.IOException {
        return PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(p));
    }
}
