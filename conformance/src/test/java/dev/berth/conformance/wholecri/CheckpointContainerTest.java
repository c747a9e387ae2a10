package dev.berth.conformance.wholecri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.CheckpointContainerRequest;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.StatusRequest;

/**
 * CheckpointContainer through the CRI socket: bad requests are refused with the right code, and on
 * a host where {@code criu check} fails (the build machines: "Unexpected rt vDSO area bounds") the
 * answer is FAILED_PRECONDITION carrying CRIU's own reason, which verbose Status shows too. The
 * checkpoint/restore round trip itself runs where CRIU works (runtime-service CheckpointRestoreTest,
 * run in the cgroup v2 VM by CheckpointInVmTest).
 */
class CheckpointContainerTest {
    static WholeCriFixture f;
    static String criuVerdict;
    static boolean criuWorks;

    @BeforeAll
    static void start() throws Exception {
        // any free streaming port: another daemon on the machine may hold the default
        f = WholeCriFixture.start("ckpt", Map.of("BERTH_STREAM_PORT", "0"));
        Process p = new ProcessBuilder("criu", "check").redirectErrorStream(true).start();
        p.getOutputStream().close();
        criuVerdict = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        criuWorks = p.exitValue() == 0 && criuVerdict.contains("Looks good");
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    private static StatusRuntimeException refused(CheckpointContainerRequest r) {
        return assertThrows(StatusRuntimeException.class, () -> f.rt().checkpointContainer(r));
    }

    /** The first "Error (...): ..." line criu check printed: the reason the daemon must pass on. */
    private static String firstCriuError() {
        return criuVerdict.lines().filter(l -> l.startsWith("Error")).findFirst().orElseThrow()
                .replaceFirst("^Error \\([^)]*\\): ", "").strip();
    }

    @Test
    void statusShowsWhetherCheckpointRestoreWorksAndWhy() throws Exception {
        var info = new ObjectMapper().readTree(f.rt().status(StatusRequest.newBuilder().setVerbose(true).build())
                .getInfoOrThrow("runtime"));
        String shown = info.path("checkpointRestore").asText();
        if (criuWorks) {
            assertTrue(shown.startsWith("available"), shown);
        } else {
            assertTrue(shown.startsWith("unavailable: criu check failed"), shown);
            assertTrue(shown.contains(firstCriuError()), shown + " should name " + firstCriuError());
        }
    }

    @Test
    void checkpointOfARunningContainerNamesCriusReasonWhereCriuCannotWork() throws Exception {
        var pod = f.pod("ckpt-running", true, Map.of());
        String id = f.run(pod, "counter", "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 1; done");
        Path location = f.daemon.base().resolve("counter.tar");
        CheckpointContainerRequest req = CheckpointContainerRequest.newBuilder().setContainerId(id)
                .setLocation(location.toString()).setTimeout(120).build();
        if (criuWorks) {
            f.rt().checkpointContainer(req);
            assertTrue(Files.size(location) > 0);
        } else {
            StatusRuntimeException e = refused(req);
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode(), e.getStatus().toString());
            String msg = e.getStatus().getDescription();
            assertTrue(msg.contains("CRIU") && msg.contains(firstCriuError()), msg);
            assertFalse(Files.exists(location), "no archive is written when the checkpoint is refused");
        }
        // forensic checkpoint semantics either way: the container is still running
        assertEquals(ContainerState.CONTAINER_RUNNING, f.rt().containerStatus(ContainerStatusRequest.newBuilder()
                .setContainerId(id).build()).getStatus().getState());
    }

    @Test
    void badRequestsAreRefusedBeforeCriuIsAsked() throws Exception {
        var pod = f.pod("ckpt-bad", true, Map.of());
        String loc = f.daemon.base().resolve("never.tar").toString();
        StatusRuntimeException e = refused(CheckpointContainerRequest.newBuilder().setContainerId("abc123")
                .setLocation(loc).build());
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());

        String running = f.run(pod, "sleeper", "sleep 3600");
        e = refused(CheckpointContainerRequest.newBuilder().setContainerId(running).setLocation("relative.tar")
                .build());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("absolute"), e.getStatus().getDescription());
        e = refused(CheckpointContainerRequest.newBuilder().setContainerId(running).build());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());

        String created = f.create(pod, "not-started", "sleep 3600");
        e = refused(CheckpointContainerRequest.newBuilder().setContainerId(created).setLocation(loc).build());
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("not running"), e.getStatus().getDescription());
    }
}
