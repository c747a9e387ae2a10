package dev.berth.runtime.userns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import runtime.v1.IDMapping;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.UserNamespace;

class PodUserNamespaceTest {
    private static IDMapping map(int container, int host, int length) {
        return IDMapping.newBuilder().setContainerId(container).setHostId(host).setLength(length).build();
    }

    private static NamespaceOption pod(UserNamespace u) {
        return NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER).setUsernsOptions(u).build();
    }

    private static UserNamespace podMode(IDMapping uid, IDMapping gid) {
        return UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(uid).addGids(gid).build();
    }

    /** The INVALID_ARGUMENT message for a pod request. */
    private static String rejected(NamespaceOption ns) {
        BerthException e = assertThrows(BerthException.class, () -> PodUserNamespace.forPod(ns));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        return e.getMessage();
    }

    @Test
    void noOptionsOrNodeModeUseTheHostUserNamespace() {
        assertEquals(Optional.empty(), PodUserNamespace.forPod(NamespaceOption.getDefaultInstance()));
        assertEquals(Optional.empty(), PodUserNamespace.forPod(pod(UserNamespace.newBuilder()
                .setMode(NamespaceMode.NODE).build())));
    }

    @Test
    void podModeTakesOneMappingPerKindFromContainerRoot() {
        PodUserNamespace u = PodUserNamespace.forPod(pod(podMode(map(0, 100000, 65536), map(0, 200000, 65536))))
                .orElseThrow();
        assertEquals(new PodUserNamespace.IdMapping(0, 100000, 65536), u.uids());
        assertEquals(100000, u.hostRootUid());
        assertEquals(200000, u.hostRootGid());
        assertEquals("0 100000 65536\n", u.uids().mapLine());
        // ids are uint32 on the wire: a host range near the top is read unsigned
        PodUserNamespace high = PodUserNamespace.forPod(pod(podMode(map(0, (int) 4_000_000_000L, 65536),
                map(0, 1000, 1)))).orElseThrow();
        assertEquals(4_000_000_000L, high.hostRootUid());
    }

    @Test
    void badRequestsAreInvalidArguments() {
        IDMapping ok = map(0, 1000, 100000);
        String two = rejected(pod(UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(ok)
                .addUids(map(0, 2000, 100000)).addGids(ok).build()));
        assertTrue(two.contains("exactly one uid mapping, got 2"), two);
        String notRoot = rejected(pod(podMode(map(1, 1000, 100000), map(1, 1000, 100000))));
        assertTrue(notRoot.contains("container uid 0 (root) unmapped"), notRoot);
        assertTrue(rejected(pod(UserNamespace.newBuilder().setMode(NamespaceMode.CONTAINER).build()))
                .contains("mode CONTAINER is not supported"));
        assertTrue(rejected(pod(UserNamespace.newBuilder().setMode(NamespaceMode.TARGET).build()))
                .contains("mode TARGET is not supported"));
        assertTrue(rejected(pod(UserNamespace.newBuilder().setMode(NamespaceMode.NODE).addUids(ok).build()))
                .contains("mode NODE takes no id mappings"));
        assertTrue(rejected(pod(UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(ok).build()))
                .contains("one gid mapping, got none"));
        assertTrue(rejected(pod(podMode(map(0, 1000, 0), ok))).contains("length 0"));
        assertTrue(rejected(pod(podMode(map(0, -10, 100), ok))).contains("runs past the highest id"));
        String hostNet = rejected(pod(podMode(ok, ok)).toBuilder().setNetwork(NamespaceMode.NODE).build());
        assertTrue(hostNet.contains("node's network namespace"), hostNet);
        assertTrue(rejected(pod(podMode(ok, ok)).toBuilder().setIpc(NamespaceMode.NODE).build()).contains("IPC"));
        assertTrue(rejected(pod(podMode(ok, ok)).toBuilder().setPid(NamespaceMode.NODE).build()).contains("PID"));
    }

    @Test
    void containersUseTheirPodsUserNamespace() {
        NamespaceOption podNs = pod(podMode(map(0, 1000, 65536), map(0, 1000, 65536)));
        PodUserNamespace expected = PodUserNamespace.forPod(podNs).orElseThrow();
        // no options of its own: the pod's
        assertEquals(Optional.of(expected), PodUserNamespace.forContainer(NamespaceOption.getDefaultInstance(), podNs));
        // the same options (as kubelet and critest send them)
        assertEquals(Optional.of(expected), PodUserNamespace.forContainer(podNs, podNs));
        BerthException node = assertThrows(BerthException.class, () -> PodUserNamespace.forContainer(
                pod(UserNamespace.newBuilder().setMode(NamespaceMode.NODE).build()), podNs));
        assertEquals(ErrorKind.INVALID_ARGUMENT, node.kind());
        assertTrue(node.getMessage().contains("differs from its pod's"), node.getMessage());
        BerthException otherRange = assertThrows(BerthException.class, () -> PodUserNamespace.forContainer(
                pod(podMode(map(0, 5000, 65536), map(0, 1000, 65536))), podNs));
        assertEquals(ErrorKind.INVALID_ARGUMENT, otherRange.kind());
        // a container cannot ask for a user namespace its pod does not have
        assertThrows(BerthException.class, () -> PodUserNamespace.forContainer(podNs,
                NamespaceOption.getDefaultInstance()));
        assertEquals(Optional.empty(), PodUserNamespace.forContainer(NamespaceOption.getDefaultInstance(),
                NamespaceOption.getDefaultInstance()));
    }

    @Test
    void kernelNeedsOverlayfsOnIdmappedLayers() {
        assertEquals(Optional.empty(), UserNamespaceSupport.kernelProblem("6.18.44-fc-v782"));
        assertEquals(Optional.empty(), UserNamespaceSupport.kernelProblem("5.19.0"));
        assertTrue(UserNamespaceSupport.kernelProblem("5.15.0-91-generic").orElseThrow().contains("5.19"));
        assertTrue(UserNamespaceSupport.kernelProblem("garbage").isPresent());
    }
}
