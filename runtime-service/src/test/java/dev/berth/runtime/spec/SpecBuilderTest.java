package dev.berth.runtime.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
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
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.Capability;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.Int64Value;
import runtime.v1.KeyValue;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerResources;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.Mount;
import runtime.v1.MountPropagation;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.SecurityProfile;

class SpecBuilderTest {
    @TempDir
    Path tmp;

    private Path rootfs() throws IOException {
        Path r = Files.createDirectories(tmp.resolve("rootfs/etc"));
        Files.writeString(r.resolve("passwd"), "root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n");
        Files.writeString(r.resolve("group"), "root:x:0:\nwww:x:33:\nadm:x:4:web,other\nstaff:x:50:web\n");
        return r.getParent();
    }

    private SandboxView pod(Path netns, boolean privileged) throws IOException {
        Path hosts = Files.writeString(tmp.resolve("hosts"), "127.0.0.1 localhost\n");
        PodSandboxConfig config = PodSandboxConfig.newBuilder().setLinux(runtime.v1.LinuxPodSandboxConfig.newBuilder()
                .setSecurityContext(runtime.v1.LinuxSandboxSecurityContext.newBuilder().setPrivileged(privileged)))
                .build();
        return new SandboxView("p", config, true, "", netns, null, null,
                Path.of("/proc/77/ns/pid"), "/kubepods/p", hosts, null, null, tmp.resolve("shm"));
    }

    /** Builds in a pod that is privileged when the container is (what kubelet asks for). */
    private ObjectNode build(ContainerConfig c, LocalImage.Config img, Path netns) throws IOException {
        return build(c, img, netns, c.getLinux().getSecurityContext().getPrivileged());
    }

    private ObjectNode build(ContainerConfig c, LocalImage.Config img, Path netns, boolean privilegedPod)
            throws IOException {
        LocalImage image = new LocalImage("sha256:1", List.of(), List.of(), 0, img, List.of());
        Files.createDirectories(tmp.resolve("shm"));
        return SpecBuilder.build(new SpecContext("cid", c, pod(netns, privilegedPod), image, rootfs(),
                "/kubepods/p/berth-cid",
                Path.of("/usr/share/containers/seccomp.json"), 0, false, null, dev.berth.runtime.oci.OciFeatures.NONE,
                HELD));
    }

    private static ContainerConfig.Builder cfg() {
        return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("c"));
    }

    private static LocalImage.Config img(List<String> ep, List<String> cmd, String user) {
        return new LocalImage.Config(user, ep, cmd, List.of("PATH=/usr/bin", "A=image"), "/srv", "", Map.of());
    }

    private static List<String> texts(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void commandFollowsKubernetesRules() {
        LocalImage.Config i = img(List.of("/ep"), List.of("cmd1"), "");
        assertEquals(List.of("/ep", "cmd1"), ProcessSpec.command(cfg().build(), i));
        assertEquals(List.of("/ep", "a"), ProcessSpec.command(cfg().addArgs("a").build(), i));
        assertEquals(List.of("/c", "a"), ProcessSpec.command(cfg().addCommand("/c").addArgs("a").build(), i));
        assertEquals(List.of("/c"), ProcessSpec.command(cfg().addCommand("/c").build(), i));
        BerthException none = assertThrows(BerthException.class,
                () -> ProcessSpec.command(cfg().build(), img(List.of(), List.of(), "")));
        assertEquals(ErrorKind.INVALID_ARGUMENT, none.kind());
    }

    @Test
    void processEnvCwdAndOomScoreClamp() throws IOException {
        ContainerConfig c = cfg().addEnvs(KeyValue.newBuilder().setKey("A").setValue(ByteString.copyFromUtf8("req")))
                .addEnvs(KeyValue.newBuilder().setKey("B").setValue(ByteString.copyFromUtf8("x=y")))
                .setLinux(LinuxContainerConfig.newBuilder().setResources(
                        LinuxContainerResources.newBuilder().setOomScoreAdj(-998)))
                .build();
        ObjectNode s = build(c, img(List.of("/ep"), List.of(), ""), null);
        JsonNode p = s.get("process");
        assertEquals(List.of("PATH=/usr/bin", "A=req", "B=x=y"), texts(p.get("env")));
        assertEquals("/srv", p.get("cwd").asText());
        assertEquals(0, p.get("oomScoreAdj").asInt(), "clamped to the daemon's own");
        assertEquals("/kubepods/p/berth-cid", s.at("/linux/cgroupsPath").asText());
    }

    @Test
    void userFromImageNameWithGroupsAndOverrides() throws IOException {
        ObjectNode s = build(cfg().build(), img(List.of("/ep"), List.of(), "web"), null);
        assertEquals(33, s.at("/process/user/uid").asInt());
        assertEquals(33, s.at("/process/user/gid").asInt());
        assertEquals(List.of("33", "4", "50"), texts(s.at("/process/user/additionalGids")));
        s = build(cfg().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setRunAsUser(Int64Value.newBuilder().setValue(5000))
                        .setRunAsGroup(Int64Value.newBuilder().setValue(6000)).addSupplementalGroups(7)))
                .build(), img(List.of("/ep"), List.of(), "web"), null);
        assertEquals(5000, s.at("/process/user/uid").asInt());
        assertEquals(6000, s.at("/process/user/gid").asInt());
        assertEquals(List.of("6000", "7"), texts(s.at("/process/user/additionalGids")));
        s = build(cfg().build(), img(List.of("/ep"), List.of(), "1234:www"), null);
        assertEquals(1234, s.at("/process/user/uid").asInt());
        assertEquals(33, s.at("/process/user/gid").asInt());
        BerthException unknown = assertThrows(BerthException.class,
                () -> build(cfg().build(), img(List.of("/ep"), List.of(), "nosuchuser"), null));
        assertTrue(unknown.getMessage().contains("nosuchuser"));
    }

    @Test
    void runAsGroupNeedsRunAsUserOrUsername() throws IOException {
        // as containerd and CRI-O: a group alone would silently run as the image's user
        BerthException alone = assertThrows(BerthException.class, () -> build(cfg().setLinux(LinuxContainerConfig
                .newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setRunAsGroup(Int64Value.newBuilder().setValue(1002)))).build(),
                img(List.of("/ep"), List.of(), "web"), null));
        assertEquals(ErrorKind.INVALID_ARGUMENT, alone.kind());
        assertTrue(alone.getMessage().contains("run_as_group"), alone.getMessage());
        ObjectNode s = build(cfg().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setRunAsUsername("web")
                        .setRunAsGroup(Int64Value.newBuilder().setValue(1002)))).build(),
                img(List.of("/ep"), List.of(), ""), null);
        assertEquals(33, s.at("/process/user/uid").asInt());
        assertEquals(1002, s.at("/process/user/gid").asInt());
    }

    @Test
    void passwdBehindASymlinkIsNotFollowed() throws IOException {
        Path r = rootfs();
        Files.delete(r.resolve("etc/passwd"));
        Files.writeString(tmp.resolve("hostpasswd"), "evil:x:0:0::/:/bin/sh\n");
        Files.createSymbolicLink(r.resolve("etc/passwd"), tmp.resolve("hostpasswd"));
        assertTrue(RootfsFiles.lines(r, "etc/passwd").isEmpty());
        assertTrue(RootfsFiles.lines(r, "etc/../../hostpasswd").isEmpty());
    }

    @Test
    void mountsPodFilesBindsAndPropagation() throws IOException {
        Path host = Files.createDirectories(tmp.resolve("vol"));
        Path created = tmp.resolve("created/dir");
        ContainerConfig c = cfg()
                .addMounts(Mount.newBuilder().setContainerPath("/data/").setHostPath(host.toString()).setReadonly(true)
                        .setPropagation(MountPropagation.PROPAGATION_HOST_TO_CONTAINER))
                .addMounts(Mount.newBuilder().setContainerPath("/new").setHostPath(created.toString()))
                .build();
        ObjectNode s = build(c, img(List.of("/ep"), List.of(), ""), null);
        JsonNode data = null;
        List<String> dests = new ArrayList<>();
        for (JsonNode m : s.get("mounts")) {
            dests.add(m.get("destination").asText());
            if (m.get("destination").asText().equals("/data")) {
                data = m;
            }
        }
        assertTrue(dests.containsAll(List.of("/proc", "/dev", "/sys", "/dev/shm", "/etc/hosts", "/data", "/new")));
        assertFalse(dests.contains("/etc/resolv.conf"), "the pod has none");
        assertTrue(dests.indexOf("/dev") < dests.indexOf("/dev/shm"), "parents first");
        assertEquals(List.of("rbind", "rslave", "ro"), texts(data.get("options")));
        assertEquals("rslave", s.at("/linux/rootfsPropagation").asText());
        assertTrue(Files.isDirectory(created), "a missing host directory is created, as kubelet expects");
        BerthException mustExist = assertThrows(BerthException.class, () -> build(cfg().addMounts(Mount.newBuilder()
                .setContainerPath("/x").setHostPath("/dev/berth-no-such-device")).build(),
                img(List.of("/ep"), List.of(), ""), null));
        assertEquals(ErrorKind.NOT_FOUND, mustExist.kind());
        assertEquals(ErrorKind.INVALID_ARGUMENT, assertThrows(BerthException.class, () -> build(cfg().addMounts(
                Mount.newBuilder().setContainerPath("rel").setHostPath("/tmp")).build(),
                img(List.of("/ep"), List.of(), ""), null)).kind());
    }

    @Test
    void namespacesJoinThePod() throws IOException {
        ObjectNode s = build(cfg().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(
                        NamespaceOption.newBuilder().setPid(NamespaceMode.POD)))).build(),
                img(List.of("/ep"), List.of(), ""), Path.of("/run/netns/x"));
        Map<String, String> ns = new java.util.HashMap<>();
        s.at("/linux/namespaces").forEach(n -> ns.put(n.get("type").asText(), n.path("path").asText("")));
        assertEquals("/run/netns/x", ns.get("network"));
        assertEquals("/proc/77/ns/pid", ns.get("pid"));
        assertEquals("", ns.get("mount"));
        assertFalse(ns.containsKey("ipc"), "host IPC when the pod has no namespace path");
        s = build(cfg().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(
                        NamespaceOption.newBuilder().setPid(NamespaceMode.NODE)))).build(),
                img(List.of("/ep"), List.of(), ""), null);
        s.at("/linux/namespaces").forEach(n -> assertFalse(n.get("type").asText().equals("pid")));
    }

    @Test
    void pidTargetMustBeARunningContainerOfTheSamePod() {
        NamespaceOption target = NamespaceOption.newBuilder().setPid(NamespaceMode.TARGET).setTargetId("t1").build();
        Map<String, NamespaceSpec.PidTarget> containers = Map.of(
                "t1", new NamespaceSpec.PidTarget("p", true, 4242),
                "other", new NamespaceSpec.PidTarget("q", true, 4343),
                "stopped", new NamespaceSpec.PidTarget("p", false, 0));
        java.util.function.Function<String, java.util.Optional<NamespaceSpec.PidTarget>> find =
                id -> java.util.Optional.ofNullable(containers.get(id));
        assertEquals(Path.of("/proc/4242/ns/pid"), NamespaceSpec.pidTarget(target, "p", find));
        BerthException otherPod = assertThrows(BerthException.class, () -> NamespaceSpec.pidTarget(
                target.toBuilder().setTargetId("other").build(), "p", find));
        assertEquals(ErrorKind.INVALID_ARGUMENT, otherPod.kind());
        assertTrue(otherPod.getMessage().contains("another pod"), otherPod.getMessage());
        assertEquals(ErrorKind.NOT_FOUND, assertThrows(BerthException.class, () -> NamespaceSpec.pidTarget(
                target.toBuilder().setTargetId("nope").build(), "p", find)).kind());
        assertEquals(ErrorKind.INVALID_ARGUMENT, assertThrows(BerthException.class, () -> NamespaceSpec.pidTarget(
                target.toBuilder().clearTargetId().build(), "p", find)).kind());
        assertEquals(ErrorKind.FAILED_PRECONDITION, assertThrows(BerthException.class, () -> NamespaceSpec.pidTarget(
                target.toBuilder().setTargetId("stopped").build(), "p", find)).kind());
        assertEquals(null, NamespaceSpec.pidTarget(NamespaceOption.newBuilder().setPid(NamespaceMode.POD).build(),
                "p", find), "other modes need no target");
    }

    @Test
    void privilegedContainerNeedsAPrivilegedPod() throws IOException {
        ContainerConfig privileged = cfg().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setPrivileged(true))).build();
        BerthException e = assertThrows(BerthException.class,
                () -> build(privileged, img(List.of("/ep"), List.of(), ""), null, false));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("no privileged container allowed"), e.getMessage());
        assertTrue(build(privileged, img(List.of("/ep"), List.of(), ""), null, true)
                .at("/linux/maskedPaths").isMissingNode(), "a privileged pod may run it");
        assertFalse(build(cfg().build(), img(List.of("/ep"), List.of(), ""), null, true)
                .at("/linux/maskedPaths").isMissingNode(), "a plain container in a privileged pod stays plain");
    }

    /** What the daemon holds on the build hosts: everything but CAP_SYS_RESOURCE. */
    private static final Set<String> HELD = heldWithout("CAP_SYS_RESOURCE");

    private static Set<String> heldWithout(String... missing) {
        Set<String> held = new java.util.LinkedHashSet<>(SecuritySpec.ALL_CAPS);
        List.of(missing).forEach(held::remove);
        return held;
    }

    private static Set<String> caps(LinuxContainerSecurityContext.Builder sc) {
        return SecuritySpec.capabilities(sc.build(), HELD);
    }

    @Test
    void capabilitiesAddDropAllAndPrivileged() {
        Set<String> caps = caps(LinuxContainerSecurityContext.newBuilder()
                .setCapabilities(Capability.newBuilder().addAddCapabilities("NET_ADMIN").addDropCapabilities("CHOWN")));
        assertTrue(caps.contains("CAP_NET_ADMIN"));
        assertFalse(caps.contains("CAP_CHOWN"));
        assertTrue(caps.contains("CAP_KILL"));
        caps = caps(LinuxContainerSecurityContext.newBuilder()
                .setCapabilities(Capability.newBuilder().addDropCapabilities("ALL").addAddCapabilities("cap_kill")));
        assertEquals(Set.of("CAP_KILL"), caps);
        assertEquals(ErrorKind.INVALID_ARGUMENT, assertThrows(BerthException.class, () -> caps(
                LinuxContainerSecurityContext.newBuilder().setCapabilities(
                        Capability.newBuilder().addAddCapabilities("FLY")))).kind());
    }

    @Test
    void privilegedAndAllGetEveryCapabilityTheDaemonHoldsAndNoOther() {
        assertEquals(HELD, caps(LinuxContainerSecurityContext.newBuilder().setPrivileged(true)));
        assertEquals(HELD, caps(LinuxContainerSecurityContext.newBuilder()
                .setCapabilities(Capability.newBuilder().addAddCapabilities("ALL"))));
        Set<String> allButChown = caps(LinuxContainerSecurityContext.newBuilder()
                .setCapabilities(Capability.newBuilder().addAddCapabilities("ALL").addDropCapabilities("CHOWN")));
        assertFalse(allButChown.contains("CAP_CHOWN") || allButChown.contains("CAP_SYS_RESOURCE"));
        assertEquals(HELD.size() - 1, allButChown.size());
        // the default set is berth's own choice: what the daemon lacks is left out of it, not an error
        Set<String> defaults = SecuritySpec.capabilities(LinuxContainerSecurityContext.getDefaultInstance(),
                heldWithout("CAP_MKNOD"));
        assertFalse(defaults.contains("CAP_MKNOD"));
        assertTrue(defaults.contains("CAP_CHOWN"));
        // a named capability the daemon lacks is refused with a reason, not left for runc to fail on
        BerthException lacking = assertThrows(BerthException.class, () -> caps(LinuxContainerSecurityContext
                .newBuilder().setCapabilities(Capability.newBuilder().addAddCapabilities("SYS_RESOURCE"))));
        assertEquals(ErrorKind.FAILED_PRECONDITION, lacking.kind());
        assertTrue(lacking.getMessage().contains("CAP_SYS_RESOURCE"), lacking.getMessage());
    }

    @Test
    void privilegedSpecListsTheHeldCapabilitiesInEverySet() throws IOException {
        ObjectNode s = build(cfg().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setPrivileged(true))).build(),
                img(List.of("/ep"), List.of(), ""), null);
        for (String set : List.of("bounding", "effective", "permitted")) {
            assertEquals(List.copyOf(HELD), texts(s.at("/process/capabilities/" + set)), set);
        }
    }

    @Test
    void securityReadonlyNoNewPrivsMaskedPaths() throws IOException {
        ObjectNode s = build(cfg().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setReadonlyRootfs(true).setNoNewPrivs(true)
                        .addMaskedPaths("/proc/secret"))).build(), img(List.of("/ep"), List.of(), ""), null);
        assertTrue(s.at("/root/readonly").asBoolean());
        assertTrue(s.at("/process/noNewPrivileges").asBoolean());
        assertEquals(List.of("/proc/secret"), texts(s.at("/linux/maskedPaths")));
        assertTrue(texts(s.at("/linux/readonlyPaths")).contains("/proc/sys"));
        assertTrue(s.at("/linux/seccomp").isMissingNode(), "no seccomp asked: unconfined");
        s = build(cfg().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setPrivileged(true))).build(),
                img(List.of("/ep"), List.of(), ""), null);
        assertTrue(s.at("/linux/maskedPaths").isMissingNode());
        assertTrue(s.at("/linux/resources/devices/0/allow").asBoolean());
    }

    @Test
    void seccompRuntimeDefaultKeepsRulesForCapsAndArch() throws IOException {
        Path profile = Path.of("/usr/share/containers/seccomp.json");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(profile), "no containers-common");
        LinuxContainerSecurityContext sc = LinuxContainerSecurityContext.newBuilder().setSeccomp(
                SecurityProfile.newBuilder().setProfileType(SecurityProfile.ProfileType.RuntimeDefault)).build();
        ObjectNode p = SeccompProfiles.forContainer(sc, profile, Set.copyOf(SecuritySpec.DEFAULT_CAPS)).orElseThrow();
        assertEquals("SCMP_ACT_ERRNO", p.get("defaultAction").asText());
        assertTrue(texts(p.get("architectures")).contains("SCMP_ARCH_X86_64"));
        String all = p.get("syscalls").toString();
        assertTrue(all.contains("\"chroot\""), "CAP_SYS_CHROOT is a default cap: chroot allowed");
        assertFalse(all.contains("\"s390_runtime_instr\""), "other arches' rules dropped");
        boolean bpfAllowed = false;
        for (JsonNode r : p.get("syscalls")) {
            if (texts(r.get("names")).contains("bpf") && r.get("action").asText().equals("SCMP_ACT_ALLOW")) {
                bpfAllowed = true;
            }
        }
        assertFalse(bpfAllowed, "bpf needs CAP_SYS_ADMIN");
        assertTrue(SeccompProfiles.forContainer(LinuxContainerSecurityContext.newBuilder().setSeccomp(
                SecurityProfile.newBuilder().setProfileType(SecurityProfile.ProfileType.Unconfined)).build(),
                profile, Set.of()).isEmpty());
        assertEquals(ErrorKind.NOT_FOUND, assertThrows(BerthException.class, () -> SeccompProfiles.forContainer(
                LinuxContainerSecurityContext.newBuilder().setSeccomp(SecurityProfile.newBuilder()
                        .setProfileType(SecurityProfile.ProfileType.Localhost).setLocalhostRef("/no/such.json"))
                        .build(), profile, Set.of())).kind());
    }
}
