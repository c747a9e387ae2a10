package dev.berth.runtime.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.LocalImage;
import dev.berth.runtime.sandbox.SandboxView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.IDMapping;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.UserNamespace;

/** The OCI spec of containers in pods with and without their own user namespace. */
class UserNamespaceSpecTest {
    @TempDir
    Path tmp;

    private static final Path USERNS = Path.of("/run/berth/pods/p/ns/user");

    private static NamespaceOption ns(UserNamespace u) {
        return NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER).setUsernsOptions(u).build();
    }

    private static UserNamespace podMode() {
        IDMapping uid = IDMapping.newBuilder().setContainerId(0).setHostId(100000).setLength(65536).build();
        IDMapping gid = uid.toBuilder().setHostId(300000).build();
        return UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(uid).addGids(gid).build();
    }

    private ObjectNode build(NamespaceOption podNs, Path userns, NamespaceOption containerNs) throws IOException {
        Files.createDirectories(tmp.resolve("rootfs/etc"));
        Files.createDirectories(tmp.resolve("shm"));
        Path hosts = Files.writeString(tmp.resolve("hosts"), "127.0.0.1 localhost\n");
        PodSandboxConfig podCfg = PodSandboxConfig.newBuilder().setLinux(LinuxPodSandboxConfig.newBuilder()
                .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(podNs))).build();
        SandboxView pod = new SandboxView("p", podCfg, true, "", Path.of("/run/berth/pods/p/ns/net"),
                Path.of("/run/berth/pods/p/ns/ipc"), Path.of("/run/berth/pods/p/ns/uts"), null, "/kubepods/p",
                hosts, null, null, tmp.resolve("shm"), userns);
        ContainerConfig c = ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("c"))
                .addCommand("true").setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(containerNs))).build();
        LocalImage image = new LocalImage("sha256:1", List.of(), List.of(), 0,
                new LocalImage.Config("", List.of(), List.of(), List.of(), "/", "", Map.of()), List.of());
        return SpecBuilder.build(new SpecContext("cid", c, pod, image, tmp.resolve("rootfs"), "/kubepods/p/berth-cid",
                Path.of("/usr/share/containers/seccomp.json"), 0, false, null, dev.berth.runtime.oci.OciFeatures.NONE,
                java.util.Set.copyOf(SecuritySpec.ALL_CAPS)));
    }

    private static List<String> namespaceTypes(ObjectNode spec) {
        List<String> out = new ArrayList<>();
        spec.at("/linux/namespaces").forEach(n -> out.add(n.get("type").asText()));
        return out;
    }

    @Test
    void podModeJoinsThePodsUserNamespaceWithItsMappings() throws IOException {
        ObjectNode spec = build(ns(podMode()), USERNS, ns(podMode()));
        JsonNode user = null;
        for (JsonNode n : spec.at("/linux/namespaces")) {
            if (n.get("type").asText().equals("user")) {
                user = n;
            }
        }
        assertEquals(USERNS.toString(), user.get("path").asText());
        assertEquals(0, spec.at("/linux/uidMappings/0/containerID").asLong());
        assertEquals(100000, spec.at("/linux/uidMappings/0/hostID").asLong());
        assertEquals(65536, spec.at("/linux/uidMappings/0/size").asLong());
        assertEquals(300000, spec.at("/linux/gidMappings/0/hostID").asLong());
        assertEquals(1, spec.at("/linux/uidMappings").size());
        // the pod's other namespaces are still joined beside it
        assertTrue(namespaceTypes(spec).containsAll(List.of("network", "ipc", "uts", "mount", "pid")));
    }

    @Test
    void containerWithoutOptionsInheritsThePodsUserNamespace() throws IOException {
        ObjectNode spec = build(ns(podMode()), USERNS, NamespaceOption.newBuilder()
                .setPid(NamespaceMode.CONTAINER).build());
        assertTrue(namespaceTypes(spec).contains("user"));
        assertEquals(100000, spec.at("/linux/uidMappings/0/hostID").asLong());
    }

    @Test
    void nodeModeAndNoOptionsAddNoUserNamespace() throws IOException {
        NamespaceOption node = ns(UserNamespace.newBuilder().setMode(NamespaceMode.NODE).build());
        for (ObjectNode spec : List.of(build(node, null, node), build(NamespaceOption.getDefaultInstance(), null,
                NamespaceOption.getDefaultInstance()))) {
            assertTrue(!namespaceTypes(spec).contains("user"), spec.toString());
            assertTrue(spec.at("/linux/uidMappings").isMissingNode());
            assertTrue(spec.at("/linux/gidMappings").isMissingNode());
        }
    }

    @Test
    void mismatchOrMissingPinIsRefused() throws IOException {
        NamespaceOption node = ns(UserNamespace.newBuilder().setMode(NamespaceMode.NODE).build());
        BerthException mismatch = assertThrows(BerthException.class, () -> build(ns(podMode()), USERNS, node));
        assertEquals(ErrorKind.INVALID_ARGUMENT, mismatch.kind());
        BerthException unpinned = assertThrows(BerthException.class, () -> build(ns(podMode()), null, ns(podMode())));
        assertEquals(ErrorKind.FAILED_PRECONDITION, unpinned.kind());
    }
}
