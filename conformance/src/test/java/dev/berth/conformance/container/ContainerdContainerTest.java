package dev.berth.conformance.container;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.OptOut;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CriClient;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.ReferenceContainerd;
import dev.berth.conformance.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import runtime.v1.ImageSpec;
import runtime.v1.PullImageRequest;

/**
 * The same container contract against Debian's containerd: the tests describe CRI, not berth. A
 * containerd that is missing or does not start fails the class; BERTH_SKIP_CONTAINERD=1 skips it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerdContainerTest extends ContainerContract implements ReadOnlyMountsAndGroupsContract {
    private LocalRegistry registry;
    private ReferenceContainerd containerd;
    private String image;
    private String groupsImage;
    private Path logs;

    @BeforeAll
    void start() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "containers need root");
        OptOut.CONTAINERD.require(ReferenceContainerd.available() ? Optional.empty()
                : Optional.of("containerd or " + ReferenceContainerd.script() + " is missing"));
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed");
        assumeTrue(TestImages.available(), "/bin/busybox is missing");
        registry = LocalRegistry.start();
        image = TestImages.pushBusybox(registry, "library/busybox", "ctr").reference();
        groupsImage = TestImages.pushGroupsImage(registry, "library/groups", "ctr").reference();
        try {
            containerd = ReferenceContainerd.start(Map.of("REF_REGISTRY", registry.host()));
        } catch (RuntimeException e) {
            fail(e.getMessage() + OptOut.CONTAINERD.hint(), e);
        }
        containerd.client().images().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(image)).build());
        containerd.client().images().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(groupsImage)).build());
        logs = Files.createTempDirectory("containerd-ctr-logs");
    }

    @AfterAll
    void stop() {
        if (containerd != null) {
            containerd.close();
        }
        if (registry != null) {
            registry.close();
        }
        if (logs != null) {
            // the pods' log directories (containerd leaves them: kubelet owns them on a node)
            Commands.run("rm", "-rf", logs.toString()).orThrow();
        }
    }

    @Override
    CriClient cri() {
        return containerd.client();
    }

    @Override
    String image() {
        return image;
    }

    @Override
    Path logRoot() {
        return logs;
    }

    /** containerd runs in the host's mount namespace, as the test does. */
    @Override
    public AutoCloseable tmpfsVisibleToRuntime(Path dir) {
        Commands.run("mount", "-t", "tmpfs", "tmpfs", dir.toString()).orThrow();
        return () -> Commands.run("umount", "-l", dir.toString()).orThrow();
    }

    @Override
    public String groupsImage() {
        return groupsImage;
    }

    /**
     * containerd records an exit from its event loop, which can run after StopContainer answered when
     * the process ended on its own mid-stop (seen in CI: RUNNING right after the stop).
     */
    @Override
    boolean stopReturnsAfterExitIsRecorded() {
        return false;
    }

    /**
     * containerd can lose the race with a process ending mid-stop: its kill meets a shim that has
     * already gone ("ttrpc: closed", Unknown; seen in full runs from StopContainer and from a
     * RemovePodSandbox that force-stops). kubelet asks again; so does the test, for the reference only.
     */
    @Override
    void meetingAnExit(Runnable call) {
        try {
            call.run();
        } catch (io.grpc.StatusRuntimeException e) {
            if (e.getStatus().getCode() != io.grpc.Status.Code.UNKNOWN
                    || !String.valueOf(e.getStatus().getDescription()).contains("ttrpc: closed")) {
                throw e;
            }
            call.run();
        }
    }

    /** containerd 1.6 (Debian 12's) answers NotFound for a stop of an unknown id; 1.7 succeeds. */
    @Override
    boolean stopsUnknownIdsQuietly() {
        String v = cri().runtime().version(runtime.v1.VersionRequest.getDefaultInstance()).getRuntimeVersion();
        return !v.replaceFirst("^v", "").startsWith("1.6.");
    }

    /** containerd refuses with Unknown, and leaves a capability it cannot grant for runc to refuse at start. */
    @Override
    boolean refusesAtCreateWithCode() {
        return false;
    }

    /**
     * containerd takes started_at when its task start returns and finished_at from the exit
     * event, so a process that exits at once can finish "before" it started; berth clamps it.
     */
    @Override
    boolean finishedNeverBeforeStarted() {
        return false;
    }
}
