package dev.berth.conformance.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerStatus;
import runtime.v1.ExecSyncResponse;
import runtime.v1.ImageSpec;
import runtime.v1.Int64Value;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxContainerUser;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.Mount;
import runtime.v1.MountPropagation;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeHandler;
import runtime.v1.StatusRequest;
import runtime.v1.StatusResponse;
import runtime.v1.SupplementalGroupsPolicy;

/**
 * Read-only volumes and the process's groups, as critest checks them, for every runtime that
 * runs the {@link ContainerContract}: {@code readonly} leaves mounts below the volume writable,
 * {@code recursive_read_only} does not (and is refused with INVALID_ARGUMENT where it cannot
 * hold); SupplementalGroupsPolicy Merge adds the image's /etc/group, Strict does not. A runtime
 * that does not report a feature in Status skips its tests, as critest does.
 */
interface ReadOnlyMountsAndGroupsContract {
    /** The contract whose helpers (pods, containers, exec) the tests use. */
    default ContainerContract contract() {
        return (ContainerContract) this;
    }

    /**
     * Mounts a fresh tmpfs on {@code dir} where the runtime sees it (berth: inside its private
     * mount namespace); closing it unmounts the tmpfs.
     */
    AutoCloseable tmpfsVisibleToRuntime(Path dir) throws Exception;

    /** A pulled image as {@code TestImages.pushGroupsImage} makes it. */
    String groupsImage();

    /** A volume directory holding a tmpfs at {@code tmpfs/}, as critest's createHostPathForRROMount. */
    private Path volumeWithTmpfs() throws Exception {
        Path host = Files.createDirectories(contract().logRoot().resolve("rro-" + UUID.randomUUID()));
        Files.createDirectories(host.resolve("tmpfs"));
        return host;
    }

    private String writes(String id) {
        ExecSyncResponse r = contract().exec(id, 10, "sh", "-c",
                "touch /mnt/top 2>/dev/null && echo top-rw || echo top-ro; "
                        + "touch /mnt/tmpfs/sub 2>/dev/null && echo sub-rw || echo sub-ro");
        return r.getStdout().toStringUtf8().strip().replace('\n', ' ');
    }

    private ContainerConfig withMount(String name, Mount m) {
        return contract().container(name, "sleep", "1000").addMounts(m).build();
    }

    private StatusResponse runtimeStatus() {
        return contract().cri().runtime().status(StatusRequest.getDefaultInstance());
    }

    /** Whether the default handler ("" in Status) reports recursive read-only mounts. */
    private boolean defaultHandlerHasRro() {
        return handlersWithRro().contains("");
    }

    /** The runtime handlers Status reports recursive read-only mounts for ("" is the default). */
    private List<String> handlersWithRro() {
        return runtimeStatus().getRuntimeHandlersList().stream()
                .filter(h -> h.getFeatures().getRecursiveReadOnlyMounts()).map(RuntimeHandler::getName).toList();
    }

    /** As {@link ContainerContract#runPod} on a given runtime handler. */
    private String runPod(String name, String handler) throws Exception {
        ContainerContract c = contract();
        Path logs = Files.createDirectories(c.logRoot().resolve(name + "-" + UUID.randomUUID()));
        PodSandboxConfig cfg = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("conformance")
                        .setUid(UUID.randomUUID().toString()))
                .setLogDirectory(logs.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext
                        .newBuilder().setNamespaceOptions(ContainerContract.NAMESPACES)))
                .build();
        c.lastPodConfig = cfg;
        return c.cri().runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(cfg)
                .setRuntimeHandler(handler).build()).getPodSandboxId();
    }

    @Test
    default void readonlyVolumeLeavesMountsBelowWritable() throws Exception {
        Path host = volumeWithTmpfs();
        String pod = contract().runPod("ro-mount");
        try (AutoCloseable tmpfs = tmpfsVisibleToRuntime(host.resolve("tmpfs"))) {
            Mount m = Mount.newBuilder().setHostPath(host.toString()).setContainerPath("/mnt").setReadonly(true)
                    .build();
            String id = contract().create(pod, withMount("ro", m));
            contract().start(id);
            assertEquals("top-ro sub-rw", writes(id), "only the volume's own mount is read-only");
            ContainerStatus s = contract().status(id);
            assertEquals(List.of(m.getContainerPath()), s.getMountsList().stream().map(Mount::getContainerPath)
                    .toList());
            assertTrue(s.getMounts(0).getReadonly());
            contract().remove(id);
        } finally {
            contract().removePod(pod);
        }
    }

    /** On every handler that reports it (berth: runc and crun), and on the default one. */
    @Test
    default void recursiveReadOnlyVolumeMakesMountsBelowReadOnly() throws Exception {
        List<String> handlers = handlersWithRro();
        assumeTrue(handlers.contains(""), "the runtime does not report recursive read-only mounts");
        for (String handler : handlers) {
            Path host = volumeWithTmpfs();
            String pod = runPod("rro-mount", handler);
            try (AutoCloseable tmpfs = tmpfsVisibleToRuntime(host.resolve("tmpfs"))) {
                Mount m = Mount.newBuilder().setHostPath(host.toString()).setContainerPath("/mnt").setReadonly(true)
                        .setRecursiveReadOnly(true).build();
                String id;
                try {
                    id = contract().create(pod, withMount("rro", m));
                } catch (StatusRuntimeException e) {
                    // crun raises RLIMIT_MEMLOCK for its eBPF device filter, which needs
                    // CAP_SYS_RESOURCE: on a host without it no crun container runs at all.
                    String msg = String.valueOf(e.getStatus().getDescription());
                    if (!handler.isEmpty() && msg.contains("RLIM_MEMLOCK")) {
                        System.err.println("handler " + handler + " cannot run containers here: " + msg);
                        continue;
                    }
                    throw e;
                }
                contract().start(id);
                assertEquals("top-ro sub-ro", writes(id), "handler \"" + handler + "\"");
                assertTrue(contract().status(id).getMounts(0).getRecursiveReadOnly(), "the status echoes the request");
                contract().remove(id);
            } finally {
                contract().removePod(pod);
            }
        }
    }

    @Test
    default void recursiveReadOnlyThatCannotHoldIsRefused() throws Exception {
        assumeTrue(defaultHandlerHasRro(), "the runtime does not report recursive read-only mounts");
        Path host = volumeWithTmpfs();
        String pod = contract().runPod("rro-refused");
        try {
            Mount.Builder rro = Mount.newBuilder().setHostPath(host.toString()).setContainerPath("/mnt")
                    .setRecursiveReadOnly(true);
            List<Mount> invalid = List.of(rro.clone().setReadonly(false).build(),
                    rro.clone().setReadonly(true).setPropagation(MountPropagation.PROPAGATION_HOST_TO_CONTAINER)
                            .build(),
                    rro.clone().setReadonly(true).setPropagation(MountPropagation.PROPAGATION_BIDIRECTIONAL).build());
            int n = 0;
            for (Mount m : invalid) {
                String name = "refused-" + n++;
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> contract().create(pod, withMount(name, m)), m.toString());
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
            }
        } finally {
            contract().removePod(pod);
        }
    }

    @Test
    default void supplementalGroupsPolicyMergeAndStrict() throws Exception {
        assumeTrue(runtimeStatus().getFeatures().getSupplementalGroupsPolicy(),
                "the runtime does not report SupplementalGroupsPolicy");
        String pod = contract().runPod("groups");
        try {
            for (SupplementalGroupsPolicy policy : List.of(SupplementalGroupsPolicy.Merge,
                    SupplementalGroupsPolicy.Strict)) {
                ContainerConfig c = contract().container("groups-" + policy.name().toLowerCase(), "sleep", "1000")
                        .setImage(ImageSpec.newBuilder().setImage(groupsImage()))
                        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                                LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(ContainerContract.NAMESPACES)
                                        .setRunAsUser(Int64Value.newBuilder().setValue(1000))
                                        .addSupplementalGroups(1234).setSupplementalGroupsPolicy(policy)))
                        .build();
                String id = contract().create(pod, c);
                contract().start(id);
                List<Long> groups = policy == SupplementalGroupsPolicy.Merge ? List.of(1000L, 1234L, 50000L)
                        : List.of(1000L, 1234L);
                LinuxContainerUser user = contract().status(id).getUser().getLinux();
                assertEquals(1000, user.getUid(), policy.name());
                assertEquals(1000, user.getGid(), policy.name());
                assertEquals(groups, user.getSupplementalGroupsList().stream().sorted().toList(), policy.name());
                String idG = contract().exec(id, 10, "id", "-G").getStdout().toStringUtf8().strip();
                assertEquals(String.join(" ", groups.stream().map(String::valueOf).toList()), idG, policy.name());
                contract().remove(id);
            }
        } finally {
            contract().removePod(pod);
        }
    }
}
