package dev.berth.conformance.wholecri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.conformance.harness.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.CheckpointPodRequest;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.ImageSpec;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RestorePodRequest;

/**
 * CheckpointPod, RestorePod and CreateContainer from a checkpoint image through the CRI socket.
 * Bad requests are refused before CRIU is asked; where {@code criu check} fails (the build
 * machines) each answers FAILED_PRECONDITION with CRIU's reason and leaves nothing behind: no file
 * in the output directory, no pod, no container. The round trips themselves run where CRIU works
 * (runtime-service CheckpointRestoreTest in the cgroup v2 VM, CheckpointInVmTest).
 */
class CheckpointPodTest {
    static WholeCriFixture f;
    static String criuVerdict;
    static boolean criuWorks;

    @BeforeAll
    static void start() throws Exception {
        f = WholeCriFixture.start("ckpod", Map.of("BERTH_STREAM_PORT", "0"));
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

    private static String firstCriuError() {
        return criuVerdict.lines().filter(l -> l.startsWith("Error")).findFirst().orElseThrow()
                .replaceFirst("^Error \\([^)]*\\): ", "").strip();
    }

    private static StatusRuntimeException refused(Status.Code code, org.junit.jupiter.api.function.Executable call,
            String... words) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        for (String w : words) {
            assertTrue(e.getStatus().getDescription().contains(w), e.getStatus().getDescription() + " lacks " + w);
        }
        return e;
    }

    private static long podCount() {
        return f.rt().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount();
    }

    private static boolean empty(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    @Test
    void checkpointPodNamesCriusReasonAndWritesNothing() throws Exception {
        var pod = f.pod("ckpod-run", true, Map.of());
        String a = f.run(pod, "a", "sleep 3600");
        String b = f.run(pod, "b", "sleep 3600");
        Path out = Files.createDirectories(f.daemon.base().resolve("pod-ckpt"));
        CheckpointPodRequest req = CheckpointPodRequest.newBuilder().setPodSandboxId(pod.id()).setOutputPath(
                out.toString()).addContainerIds(a).addContainerIds(b).build();
        if (criuWorks) {
            f.rt().withDeadlineAfter(10, TimeUnit.MINUTES).checkpointPod(req);
            assertTrue(Files.isRegularFile(out.resolve("pod.dump")));
            assertTrue(Files.isRegularFile(out.resolve("containers/a.tar")));
        } else {
            refused(Status.Code.FAILED_PRECONDITION, () -> f.rt().checkpointPod(req), "CRIU", firstCriuError());
            assertTrue(empty(out), "nothing is written when the checkpoint is refused");
        }
        for (String id : List.of(a, b)) {
            assertEquals(ContainerState.CONTAINER_RUNNING, f.rt().containerStatus(ContainerStatusRequest.newBuilder()
                    .setContainerId(id).build()).getStatus().getState(), "the pod's containers still run");
        }
    }

    @Test
    void checkpointPodRefusesBadRequestsBeforeCriuIsAsked() throws Exception {
        var pod = f.pod("ckpod-bad", true, Map.of());
        var other = f.pod("ckpod-other", true, Map.of());
        String running = f.run(pod, "r", "sleep 3600");
        String created = f.create(pod, "c", "sleep 3600");
        String foreign = f.run(other, "o", "sleep 3600");
        Path out = Files.createDirectories(f.daemon.base().resolve("pod-ckpt-bad"));
        CheckpointPodRequest ok = CheckpointPodRequest.newBuilder().setPodSandboxId(pod.id())
                .setOutputPath(out.toString()).addContainerIds(running).build();
        refused(Status.Code.NOT_FOUND, () -> f.rt().checkpointPod(ok.toBuilder().setPodSandboxId("feedbeef").build()));
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().checkpointPod(ok.toBuilder().clearContainerIds().build()),
                "container_ids");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().checkpointPod(ok.toBuilder().addContainerIds(running)
                .build()), "twice");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().checkpointPod(ok.toBuilder().setOutputPath("rel/dir")
                .build()), "absolute");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().checkpointPod(ok.toBuilder().putOptions("leave", "1")
                .build()), "leave");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().checkpointPod(ok.toBuilder().addContainerIds(foreign)
                .build()), "belongs to pod");
        refused(Status.Code.FAILED_PRECONDITION, () -> f.rt().checkpointPod(ok.toBuilder().addContainerIds(created)
                .build()), "not running");
        Files.writeString(out.resolve("someone-elses"), "x");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().checkpointPod(ok), "not empty");
        assertEquals(List.of(out.resolve("someone-elses")), Files.list(out).toList(), "the caller's file is left");
    }

    /** A pod checkpoint directory as CheckpointPod writes it, its one container archive hand-made. */
    private static Path handMadePodCheckpoint(String name) throws Exception {
        Path dir = Files.createDirectories(f.daemon.base().resolve("hand-" + name));
        Path content = Files.createDirectories(f.daemon.base().resolve("hand-" + name + "-content/checkpoint"))
                .getParent();
        Files.writeString(content.resolve("config.dump"), "{\"id\":\"0123\",\"name\":\"" + name
                + "\",\"rootfsImage\":\"" + f.image + "\",\"rootfsImageName\":\"" + f.image + "\"}");
        Files.writeString(content.resolve("spec.dump"), "{\"process\":{\"args\":[\"sh\"]}}");
        Files.createDirectories(dir.resolve("containers"));
        assertEquals(0, new ProcessBuilder("tar", "-cf", dir.resolve("containers/" + name + ".tar").toString(), "-C",
                content.toString(), "config.dump", "spec.dump", "checkpoint").inheritIO().start().waitFor());
        Files.writeString(dir.resolve("pod.dump"), "{\"version\":1,\"podSandboxId\":\"0abc\",\"name\":\"p\","
                + "\"namespace\":\"ns\",\"uid\":\"u\",\"attempt\":0,\"runtimeHandler\":\"\",\"containers\":[{\"name\":\""
                + name + "\",\"id\":\"0123\",\"image\":\"" + f.image + "\",\"archive\":\"containers/" + name
                + ".tar\"}]}");
        return dir;
    }

    @Test
    void restorePodChecksTheRequestThenNamesCriusReasonCreatingNothing() throws Exception {
        Path dir = handMadePodCheckpoint("counter");
        var pod = f.pod("ckpod-template", true, Map.of());
        ContainerConfig counter = f.config(pod, "counter", "sleep 1").build();
        RestorePodRequest req = RestorePodRequest.newBuilder().setCheckpointPath(dir.toString())
                .setConfig(pod.config().toBuilder().setMetadata(pod.config().getMetadata().toBuilder()
                        .setName("ckpod-restored").setUid("u-restored")))
                .addContainerConfigs(counter).build();
        long pods = podCount();
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().restorePod(req.toBuilder().clearContainerConfigs()
                .addContainerConfigs(counter.toBuilder().setMetadata(counter.getMetadata().toBuilder().setName("x")))
                .build()), "[x]", "[counter]");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().restorePod(req.toBuilder().setCheckpointPath(
                f.daemon.base().toString()).build()), "pod.dump");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().restorePod(req.toBuilder().putOptions("k", "v").build()),
                "k");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.rt().restorePod(req.toBuilder().setContainerConfigs(0,
                counter.toBuilder().setImage(ImageSpec.newBuilder().setImage("other/image:1"))).build()),
                "other/image:1");
        if (!criuWorks) {
            refused(Status.Code.FAILED_PRECONDITION, () -> f.rt().restorePod(req), "CRIU", firstCriuError());
        }
        assertEquals(pods, podCount(), "a refused RestorePod leaves no pod behind");
    }

    @Test
    void checkpointImageIsRecognisedByItsAnnotation() throws Exception {
        var pod = f.pod("ckpod-image", true, Map.of());
        String config = "{\"id\":\"0123\",\"name\":\"counter\",\"rootfsImage\":\"" + f.image
                + "\",\"rootfsImageName\":\"" + f.image + "\"}";
        String marked = TestImages.image().layer(new TestImages.Layer().file("/config.dump", config, 0600)
                .file("/spec.dump", "{\"process\":{\"args\":[\"sh\"]}}", 0600).dir("/checkpoint", 0700)
                .file("/checkpoint/inventory.img", "", 0600))
                .annotation("io.kubernetes.cri-o.annotations.checkpoint.name", "counter")
                .push(f.registry, "test/counter-checkpoint", "1").reference();
        String markedEmpty = TestImages.image().layer(new TestImages.Layer().file("/nothing", "", 0600))
                .annotation("io.kubernetes.cri-o.annotations.checkpoint.name", "counter")
                .push(f.registry, "test/empty-checkpoint", "1").reference();
        for (String ref : List.of(marked, markedEmpty)) {
            f.daemon.client().images().pullImage(PullImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(ref)).build());
        }
        refused(Status.Code.INVALID_ARGUMENT, () -> f.create(pod, f.config(pod, "c1", "true")
                .setImage(ImageSpec.newBuilder().setImage(markedEmpty)).build()), "marked as a checkpoint",
                "config.dump");
        if (!criuWorks) {
            refused(Status.Code.FAILED_PRECONDITION, () -> f.create(pod, f.config(pod, "c2", "true")
                    .setImage(ImageSpec.newBuilder().setImage(marked)).build()), "checkpoint " + marked, "CRIU",
                    firstCriuError());
        }
        // without the annotation the same files are an ordinary image
        String plain = TestImages.image().layer(TestImages.busyboxLayer()).layer(new TestImages.Layer()
                .file("/config.dump", config, 0600)).push(f.registry, "test/not-a-checkpoint", "1").reference();
        f.daemon.client().images().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(plain)).build());
        String id = f.create(pod, f.config(pod, "plain", "cat /config.dump").setImage(ImageSpec.newBuilder()
                .setImage(plain)).build());
        assertEquals(ContainerState.CONTAINER_CREATED, f.rt().containerStatus(ContainerStatusRequest.newBuilder()
                .setContainerId(id).build()).getStatus().getState());
    }
}
