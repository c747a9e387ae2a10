package dev.berth.runtime.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.LocalImage;
import dev.berth.runtime.oci.OciFeatures;
import dev.berth.runtime.sandbox.SandboxView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.Mount;
import runtime.v1.MountPropagation;
import runtime.v1.PodSandboxConfig;

/** CRI Mount to OCI mount: readonly (top mount only) and recursive_read_only (every mount below). */
class MountSpecTest {
    private static final OciFeatures RRO = new OciFeatures(true);

    @TempDir
    Path tmp;

    private ObjectNode build(OciFeatures features, Mount... mounts) throws IOException {
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs/etc")).getParent();
        SandboxView pod = new SandboxView("p", PodSandboxConfig.getDefaultInstance(), true, "crun", null, null, null,
                null, "/kubepods/p", null, null, null, null);
        ContainerConfig c = ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("c"))
                .addAllMounts(List.of(mounts)).build();
        LocalImage image = new LocalImage("sha256:1", List.of(), List.of(), 0,
                new LocalImage.Config("", List.of("/ep"), List.of(), List.of(), "/", "", Map.of()), List.of());
        return SpecBuilder.build(new SpecContext("cid", c, pod, image, rootfs, "/kubepods/p/berth-cid",
                Path.of("/usr/share/containers/seccomp.json"), 0, false, null, features,
                java.util.Set.copyOf(SecuritySpec.ALL_CAPS)));
    }

    private Path volume() throws IOException {
        return Files.createDirectories(tmp.resolve("vol"));
    }

    private static JsonNode mountAt(ObjectNode spec, String destination) {
        for (JsonNode m : spec.get("mounts")) {
            if (m.get("destination").asText().equals(destination)) {
                return m;
            }
        }
        throw new AssertionError("no mount at " + destination + " in " + spec.get("mounts"));
    }

    private static Mount.Builder mount(Path host) {
        return Mount.newBuilder().setContainerPath("/mnt").setHostPath(host.toString());
    }

    @Test
    void readonlyIsTheTopMountOnly() throws Exception {
        Path host = volume();
        JsonNode m = mountAt(build(RRO, mount(host).setReadonly(true).build()), "/mnt");
        assertEquals(SpecBuilder.JSON.readTree("""
                {"destination":"/mnt","type":"bind","source":"%s","options":["rbind","rprivate","ro"]}"""
                .formatted(host)), m, "plain ro: the runtime remounts only the bind itself read-only");
    }

    @Test
    void recursiveReadOnlyAddsRro() throws Exception {
        Path host = volume();
        JsonNode m = mountAt(build(RRO, mount(host).setReadonly(true).setRecursiveReadOnly(true).build()), "/mnt");
        assertEquals(SpecBuilder.JSON.readTree("""
                {"destination":"/mnt","type":"bind","source":"%s","options":["rbind","rprivate","ro","rro"]}"""
                .formatted(host)), m);
    }

    @Test
    void recursiveReadOnlyWithoutReadonlyIsRejected() throws Exception {
        Path host = volume();
        BerthException e = assertThrows(BerthException.class,
                () -> build(RRO, mount(host).setRecursiveReadOnly(true).build()));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("recursive_read_only needs readonly"), e.getMessage());
    }

    @Test
    void recursiveReadOnlyWithPropagationIsRejected() throws Exception {
        Path host = volume();
        for (MountPropagation p : List.of(MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
                MountPropagation.PROPAGATION_BIDIRECTIONAL)) {
            BerthException e = assertThrows(BerthException.class, () -> build(RRO,
                    mount(host).setReadonly(true).setRecursiveReadOnly(true).setPropagation(p).build()));
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
            assertTrue(e.getMessage().contains("needs private propagation, not " + p.name()), e.getMessage());
        }
    }

    @Test
    void recursiveReadOnlyOnAHandlerWithoutItIsRejected() throws Exception {
        Path host = volume();
        BerthException e = assertThrows(BerthException.class, () -> build(OciFeatures.NONE,
                mount(host).setReadonly(true).setRecursiveReadOnly(true).build()));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("not supported by runtime handler \"crun\""), e.getMessage());
        // The same mount without recursive_read_only is fine on that handler.
        JsonNode m = mountAt(build(OciFeatures.NONE, mount(host).setReadonly(true).build()), "/mnt");
        assertEquals("ro", m.get("options").get(2).asText());
    }
}
