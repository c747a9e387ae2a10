package dev.berth.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What CheckpointPod and RestorePod check before CRIU is asked: paths, ids, options, pod.dump. */
class PodCheckpointTest {
    @TempDir
    Path tmp;

    private static BerthException refused(org.junit.jupiter.api.function.Executable call, String word) {
        BerthException e = assertThrows(BerthException.class, call);
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(word), e.getMessage() + " lacks " + word);
        return e;
    }

    @Test
    void outputPathMustBeAnExistingEmptyAbsoluteDirectory() throws Exception {
        assertEquals(tmp, PodCheckpoint.outputDir(tmp.toString()));
        refused(() -> PodCheckpoint.outputDir(""), "empty");
        refused(() -> PodCheckpoint.outputDir("relative/dir"), "absolute");
        refused(() -> PodCheckpoint.outputDir(tmp.resolve("missing").toString()), "existing directory");
        Files.writeString(tmp.resolve("x"), "x");
        refused(() -> PodCheckpoint.outputDir(tmp.toString()), "not empty");
    }

    @Test
    void containerIdsAndOptionsAreChecked() {
        assertEquals(List.of("a", "b"), PodCheckpoint.containerIds(List.of("a", "b")));
        refused(() -> PodCheckpoint.containerIds(List.of()), "container_ids");
        refused(() -> PodCheckpoint.containerIds(List.of("a", "a")), "twice");
        refused(() -> PodCheckpoint.noOptions("CheckpointPod", Map.of("b", "1", "a", "2")), "a, b");
        PodCheckpoint.noOptions("CheckpointPod", Map.of());
    }

    @Test
    void podDumpIsReadAndItsArchivesMustBeInside() throws Exception {
        refused(() -> PodCheckpoint.read(tmp.toString()), "pod.dump");
        Files.createDirectories(tmp.resolve("containers"));
        Files.writeString(tmp.resolve("containers/c.tar"), "");
        Files.writeString(tmp.resolve("pod.dump"), "{\"version\":1,\"name\":\"p\",\"containers\":[{\"name\":\"c\","
                + "\"id\":\"1\",\"image\":\"busybox\",\"archive\":\"containers/c.tar\",\"future\":true}]}");
        PodCheckpoint.PodDump d = PodCheckpoint.read(tmp.toString());
        assertEquals("c", d.containers().getFirst().name());
        assertEquals(tmp.resolve("containers/c.tar"), PodCheckpoint.archive(tmp.toString(), d.containers().getFirst()));
        Files.writeString(tmp.resolve("pod.dump"), "{\"version\":1,\"containers\":[{\"name\":\"c\","
                + "\"archive\":\"../../etc/passwd\"}]}");
        refused(() -> PodCheckpoint.read(tmp.toString()), "missing");
        Files.writeString(tmp.resolve("pod.dump"), "{\"version\":2,\"containers\":[]}");
        refused(() -> PodCheckpoint.read(tmp.toString()), "version 2");
    }
}
