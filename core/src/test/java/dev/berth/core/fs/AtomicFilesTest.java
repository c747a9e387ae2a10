package dev.berth.core.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void replaceLeavesTheNewContentAndNoTemporaryFile() throws Exception {
        Path f = dir.resolve("a.json");
        AtomicFiles.replace(f, "one".getBytes());
        AtomicFiles.replace(f, "two".getBytes());
        assertEquals("two", Files.readString(f));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList());
        }
    }

    @Test
    void theTemporaryNameIsAHiddenSiblingThatTheListingRecognises() {
        Path tmp = AtomicFiles.temporaryFor(dir.resolve("10.0.0.2"));
        assertEquals(dir.resolve(".10.0.0.2.tmp"), tmp);
        assertTrue(AtomicFiles.isTemporary(tmp));
        assertFalse(AtomicFiles.isTemporary(dir.resolve("10.0.0.2")));
        assertFalse(AtomicFiles.isTemporary(dir.resolve("x.tmp")), "not hidden: not ours");
        assertFalse(AtomicFiles.isTemporary(dir.resolve(".lock")), "hidden, but no .tmp");
    }

    @Test
    void listingDeletesWhatInterruptedWritesLeftAndReturnsTheRest() throws Exception {
        Path kept = Files.writeString(dir.resolve("a.json"), "{}");
        Path plain = Files.writeString(dir.resolve("b.tmp"), "");
        Path hidden = Files.writeString(dir.resolve(".lock"), "");
        Path leftover = Files.writeString(AtomicFiles.temporaryFor(dir.resolve("c.json")), "{");
        assertEquals(Set.of(kept, plain, hidden), Set.copyOf(AtomicFiles.listRemovingLeftovers(dir)));
        assertFalse(Files.exists(leftover));
        assertTrue(Files.exists(plain) && Files.exists(hidden));
        assertEquals(List.of(), AtomicFiles.listRemovingLeftovers(dir.resolve("absent")));
    }
}
