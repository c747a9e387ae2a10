package dev.berth.runtime.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.cni.CniNetworks;
import dev.berth.cni.CniSettings;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.linux.Errno;
import dev.berth.linux.net.NetCommand;
import dev.berth.linux.testing.Call;
import dev.berth.linux.testing.FakeLinuxHost;
import dev.berth.runtime.container.PodContainers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxState;

/**
 * RunPodSandbox, StopPodSandbox, RemovePodSandbox and recovery against the recording fake host:
 * the order of the steps, rollback of every earlier step when one fails, and a truthful report
 * after a crash. No root needed: nothing here touches the kernel.
 */
class SandboxOrchestrationTest {
    /** What a kill -9 of the daemon at a chosen point looks like from inside: nothing after it runs. */
    static final class Crash extends Error {
        Crash(String where) {
            super("simulated crash " + where);
        }
    }

    @TempDir
    Path tmp;

    private final FakeLinuxHost host = new FakeLinuxHost();
    private final List<String> containerCalls = new ArrayList<>();
    private StateStore store;
    private Path runDir;
    private Path cgroupMount;
    private CniNetworks cni;
    private SandboxManager manager;
    /** The fake plugin's ADD fails (exit 1, CNI error) while set. */
    private volatile boolean networkFails;
    /** The fake plugin's ADD makes its veth and then the daemon "dies". */
    private volatile boolean crashInNetwork;

    @BeforeEach
    void setUp() throws IOException {
        runDir = tmp.resolve("run");
        cgroupMount = tmp.resolve("cgroup");
        store = StateStore.open(tmp.resolve("state"));
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path plugin = Files.writeString(bin.resolve("fakenet"), "");
        Files.setPosixFilePermissions(plugin, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path conf = Files.createDirectories(tmp.resolve("net.d"));
        Files.writeString(conf.resolve("10-fake.conflist"),
                "{\"cniVersion\":\"1.0.0\",\"name\":\"fake\",\"plugins\":[{\"type\":\"fakenet\"}]}");
        host.commands().handle("fakenet", (argv, env, stdin) -> {
            String id = env.get("CNI_CONTAINERID");
            String veth = "veth" + id.substring(0, 8);
            switch (env.get("CNI_COMMAND")) {
                case "ADD" -> {
                    if (networkFails) {
                        return new NetCommand.Result(argv, 1, "{\"code\":11,\"msg\":\"no addresses left\"}", "");
                    }
                    host.links().addVethIntoNamespace(veth, 0, 0, env.get("CNI_IFNAME"), null,
                            Path.of(env.get("CNI_NETNS")));
                    if (crashInNetwork) {
                        throw new Crash("in the network set-up");
                    }
                    return new NetCommand.Result(argv, 0,
                            "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.88.0.5/16\"}]}", "");
                }
                case "DEL" -> {
                    host.links().delete(veth);
                    return new NetCommand.Result(argv, 0, "", "");
                }
                default -> {
                    return new NetCommand.Result(argv, 0, "", "");
                }
            }
        });
        cni = new CniNetworks(new CniSettings(conf, List.of(bin), tmp.resolve("cni-state"), "10.88.0.0/16",
                "unused0"), host);
        manager = newManager();
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    private SandboxManager newManager() {
        PodContainers pc = new PodContainers() {
            @Override
            public void stopAll(String sandboxId, long timeoutSeconds) {
                containerCalls.add("stopAll@" + host.calls().size());
            }

            @Override
            public void removeAll(String sandboxId) {
                containerCalls.add("removeAll@" + host.calls().size());
            }
        };
        SandboxManager m = new SandboxManager(store, new SandboxSettings(runDir, cgroupMount, Set.of("runc"), "runc"),
                cni, () -> pc, host);
        m.recover();
        return m;
    }

    private static PodSandboxConfig pod(String name) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("default").setUid("uid-" + name))
                .setLinux(LinuxPodSandboxConfig.newBuilder().putSysctls("net.ipv4.ip_unprivileged_port_start", "0"))
                .build();
    }

    /** Index of the first call matching, failing the test when there is none. */
    private int first(Predicate<Call> p, String what) {
        List<Call> calls = host.calls();
        for (int i = 0; i < calls.size(); i++) {
            if (p.test(calls.get(i))) {
                return i;
            }
        }
        throw new AssertionError("no call " + what + " in " + host.ops());
    }

    private static Predicate<Call> op(String op) {
        return c -> c.op().equals(op);
    }

    private static Predicate<Call> cni(String command) {
        return c -> c.op().equals("commands.run") && c.arg(0).contains("fakenet")
                && c.arg(1).contains("CNI_COMMAND=" + command);
    }

    /** Nothing of any pod is left on the host, its run dir is gone, and no pod is listed. */
    private void assertNothingLeft() throws IOException {
        assertEquals(List.of(), host.leftovers(), "left on the host");
        Path pods = runDir.resolve("pods");
        if (Files.isDirectory(pods)) {
            try (var s = Files.list(pods)) {
                assertEquals(List.of(), s.toList(), "pod directories left");
            }
        }
        assertEquals(List.of(), manager.list(null), "pods still listed");
    }

    // ------------------------------------------------------------------ run: order

    @Test
    void runPinsNamespacesThenMakesTheCgroupThenSetsUpNetworkAndInfra() {
        String id = manager.run(pod("a"), "");

        int pinned = first(op("namespaces.createAndPin"), "pinning namespaces");
        int shm = first(c -> c.op().equals("mounts.mount") && c.arg(0).equals("shm"), "mounting /dev/shm");
        int cgroup = first(op("cgroups.mkdir"), "making the pod cgroup");
        int sysctl = first(op("procfs.writeSysctls"), "writing sysctls");
        int network = first(cni("ADD"), "CNI ADD");
        int infra = first(op("processes.startDetached"), "starting the infra");
        int infraInCgroup = first(c -> c.op().equals("cgroups.write") && c.arg(0).endsWith("berth-infra/cgroup.procs"),
                "moving the infra into the pod cgroup");
        assertTrue(pinned < shm && shm < cgroup && cgroup < sysctl, host.ops().toString());
        assertTrue(sysctl < network && sysctl < infra && infra < infraInCgroup, host.ops().toString());

        Call pin = host.calls("namespaces.createAndPin").get(0);
        assertTrue(pin.arg(0).contains("net=") && pin.arg(0).contains("ipc=") && pin.arg(0).contains("uts="), pin.toString());
        assertEquals("a", pin.arg(1), "hostname set in the new UTS namespace");
        assertEquals(PodSandboxState.SANDBOX_READY, manager.status(id, false).getStatus().getState());
        assertEquals("10.88.0.5", manager.status(id, false).getStatus().getNetwork().getIp());
        // what a ready pod holds: 3 pins and /dev/shm, its namespaces, infra + parent, its cgroup, its veth
        assertEquals(4, host.mounts().mounted().size(), host.leftovers().toString());
        assertEquals(3, host.namespaces().live().size());
        assertEquals(2, host.processes().live().size());
        assertTrue(host.cgroups(cgroupMount).directories().contains("/berth/pods/pod-" + id));
        assertEquals(Set.of("veth" + id.substring(0, 8)), host.links().names());
        int infraPid = host.processes().find("berth-infra-" + id).get(1);
        assertEquals("/berth/pods/pod-" + id + "/berth-infra", host.cgroups(cgroupMount).cgroupOf(infraPid));
    }

    // ------------------------------------------------------------------ run: rollback of each step

    private void assertRunFailsAndLeavesNothing(ErrorKind kind) throws IOException {
        BerthException e = assertThrows(BerthException.class, () -> manager.run(pod("a"), ""));
        assertEquals(kind, e.kind(), e.getMessage());
        assertNothingLeft();
    }

    /** The name is free again after a failed run: kubelet's retry succeeds. */
    private void assertRetrySucceeds() {
        host.clearFailures();
        networkFails = false;
        String id = manager.run(pod("a"), "");
        assertEquals(PodSandboxState.SANDBOX_READY, manager.status(id, false).getStatus().getState());
    }

    @Test
    void namespacePinFailureLeavesNothing() throws IOException {
        host.failNext("namespaces.createAndPin", Errno.EPERM);
        assertRunFailsAndLeavesNothing(ErrorKind.PERMISSION_DENIED);
        assertRetrySucceeds();
    }

    @Test
    void shmMountFailureUnpinsTheNamespaces() throws IOException {
        host.failWhen("mounts.mount", c -> c.arg(0).equals("shm"), Errno.ENOSPC);
        assertRunFailsAndLeavesNothing(ErrorKind.INTERNAL);
        assertTrue(host.calls("mounts.unmount").stream().map(c -> Path.of(c.arg(0)).getFileName().toString())
                .toList().containsAll(List.of("net", "ipc", "uts")), "each pinned namespace unmounted");
        assertRetrySucceeds();
    }

    @Test
    void cgroupFailureUndoesNamespacesAndShm() throws IOException {
        // the shared parents are made, the pod's own directory is not: the parents go again
        host.failWhen("cgroups.mkdir", c -> c.arg(0).contains("pod-"), Errno.ENOSPC);
        assertRunFailsAndLeavesNothing(ErrorKind.INTERNAL);
        assertEquals(Set.of("berth", "berth/pods"), Set.copyOf(host.calls("cgroups.rmdir").stream().map(c -> c.arg(0))
                .filter(d -> !d.contains("pod-")).toList()), "both parents the failed run made were removed");
        assertRetrySucceeds();
    }

    @Test
    void sysctlFailureIsInvalidArgumentAndUndoesTheCgroupToo() throws IOException {
        host.failNext("procfs.writeSysctl", Errno.ENOENT);
        BerthException e = assertThrows(BerthException.class, () -> manager.run(pod("a"), ""));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("net.ipv4.ip_unprivileged_port_start"), e.getMessage());
        assertNothingLeft();
        assertFalse(host.calls("cgroups.rmdir").isEmpty(), "the pod cgroup was made and removed");
    }

    @Test
    void networkFailureKillsTheInfraAndUndoesEverything() throws IOException {
        networkFails = true;
        assertRunFailsAndLeavesNothing(ErrorKind.UNAVAILABLE);
        assertFalse(host.calls("processes.kill").isEmpty(), "the infra started beside the network was killed");
        assertRetrySucceeds();
    }

    @Test
    void infraFailureTearsDownTheNetwork() throws IOException {
        host.failNext("processes.startDetached", Errno.EAGAIN);
        BerthException e = assertThrows(BerthException.class, () -> manager.run(pod("a"), ""));
        assertEquals(ErrorKind.INTERNAL, e.kind());
        int add = first(cni("ADD"), "CNI ADD");
        int del = first(cni("DEL"), "CNI DEL");
        assertTrue(add < del, "the network set up meanwhile is torn down");
        assertNothingLeft();
    }

    @Test
    void rollbackGoesOnWhenOneUndoStepFails() throws IOException {
        networkFails = true;
        // the first unpin fails: the others, the cgroup and the pod dir are still undone
        host.failNext("mounts.unmount", Errno.EBUSY);
        BerthException e = assertThrows(BerthException.class, () -> manager.run(pod("a"), ""));
        assertEquals(1, e.getSuppressed().length, "the cleanup failure is reported beside the cause");
        assertTrue(e.getSuppressed()[0].getMessage().contains("errno 16"), e.getSuppressed()[0].getMessage());
        assertEquals(1, host.mounts().mounted().size(), "only the pin whose unmount failed stays: "
                + host.leftovers());
        assertEquals(List.of(), host.cgroups(cgroupMount).directories().stream().toList());
        assertEquals(List.of(), host.processes().live());
    }

    @Test
    void infraLeftOutOfTheCgroupStillMakesAReadyPod() {
        // the pod cgroup may lack a controller the infra's cgroup has: the move is best effort
        host.failWhen("cgroups.write", c -> c.arg(0).endsWith("cgroup.procs"), Errno.ENOTSUP);
        String id = manager.run(pod("a"), "");
        assertEquals(PodSandboxState.SANDBOX_READY, manager.status(id, false).getStatus().getState());
        int infraPid = host.processes().find("berth-infra-" + id).get(1);
        assertEquals(null, host.cgroups(cgroupMount).cgroupOf(infraPid));
    }

    // ------------------------------------------------------------------ stop / remove

    @Test
    void stopStopsContainersThenDetachesTheNetworkAndEndsTheInfra() {
        String id = manager.run(pod("a"), "");
        host.clearCalls();
        manager.stop(id);

        int containersStopped = Integer.parseInt(containerCalls.get(0).substring("stopAll@".length()));
        int del = first(cni("DEL"), "CNI DEL");
        int kill = first(op("processes.kill"), "killing the infra");
        // CNI DEL and the infra's end overlap (the pinned netns outlives the infra): both come
        // after the containers are stopped, in either order
        assertTrue(containersStopped <= del && containersStopped <= kill, containerCalls + " " + host.ops());
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.status(id, false).getStatus().getState());
        assertEquals(List.of(), host.processes().live());
        assertEquals(Set.of(), host.links().names());
        // namespaces stay until RemovePodSandbox (kubelet may still read the pod's status and logs)
        assertEquals(3, host.namespaces().live().size());

        host.clearCalls();
        manager.stop(id);
        assertTrue(host.calls().stream().noneMatch(cni("DEL")), "a repeated stop does not run DEL again");
    }

    @Test
    void removeUndoesInReverseOrderAndLeavesNothing() throws IOException {
        String id = manager.run(pod("a"), "");
        host.clearCalls();
        manager.remove(id);

        int removeAll = Integer.parseInt(containerCalls.get(1).substring("removeAll@".length()));
        int kill = first(op("processes.kill"), "killing the infra");
        int unpin = first(c -> c.op().equals("mounts.unmount") && c.arg(0).endsWith("/ns/net"), "unpinning net");
        int shm = first(c -> c.op().equals("mounts.unmount") && c.arg(0).endsWith("/shm"), "unmounting shm");
        int rmdir = first(c -> c.op().equals("cgroups.rmdir") && c.arg(0).endsWith("pod-" + id), "removing the cgroup");
        assertTrue(kill < removeAll && removeAll <= unpin && unpin < shm && shm < rmdir, containerCalls + " " + host.ops());
        assertNothingLeft();

        host.clearCalls();
        manager.remove(id); // repeatable: an unknown id is fine
        assertEquals(List.of(), host.calls());
    }

    @Test
    void stopThatCannotDetachTheNetworkFailsAndCanBeRepeated() throws IOException {
        String id = manager.run(pod("a"), "");
        host.failWhen("commands.run", c -> c.arg(1).contains("CNI_COMMAND=DEL"), Errno.EIO);
        assertThrows(BerthException.class, () -> manager.stop(id));
        assertEquals(PodSandboxState.SANDBOX_READY, manager.status(id, false).getStatus().getState(),
                "a pod whose network is still attached is not reported stopped");
        host.clearFailures();
        manager.stop(id);
        manager.remove(id);
        assertNothingLeft();
    }

    // ------------------------------------------------------------------ recovery

    @Test
    void crashDuringNetworkSetUpIsUndoneByRecovery() throws Exception {
        crashInNetwork = true;
        assertThrows(Crash.class, () -> manager.run(pod("a"), ""));
        // the infra was starting beside the network: the "dead" daemon's thread finishes that much
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (host.processes().find("berth-infra-").size() < 2 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(2, host.processes().find("berth-infra-").size());
        assertFalse(host.links().names().isEmpty(), "the crash left the veth behind");
        crashInNetwork = false;

        // the daemon restarts: a new manager over the same run dir, store and host
        manager = newManager();

        assertEquals(List.of(), host.leftovers(), "recovery undid what the crashed RunPodSandbox made");
        assertEquals(1, manager.list(null).size(), "the half-made pod is kept for kubelet to remove");
        String id = manager.list(null).get(0).getId();
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.list(null).get(0).getState());
        manager.remove(id);
        assertNothingLeft();
    }

    @Test
    void recoveryDeletesAttachmentsNoPodHolds() throws Exception {
        String a = manager.run(pod("a"), "");
        Path results = tmp.resolve("cni-state").resolve("results");
        // an attachment whose pod berth no longer knows: its teardown failed or was cut short
        String ghost = "f".repeat(64);
        String cached = Files.readString(results.resolve(a + "-eth0.json"));
        Files.writeString(results.resolve(ghost + "-eth0.json"), cached.replace(a, ghost));
        Files.writeString(results.resolve("." + ghost + "-eth1.json.tmp"), "{\"kind\":"); // a write cut short
        host.clearCalls();

        manager = newManager(); // the daemon restarts

        assertTrue(host.calls().stream().anyMatch(cni("DEL").and(c -> c.arg(1).contains("CNI_CONTAINERID=" + ghost))),
                "the ghost attachment is DELeted: " + host.ops());
        assertTrue(host.calls().stream().noneMatch(cni("DEL").and(c -> c.arg(1).contains("CNI_CONTAINERID=" + a))),
                "the known pod keeps its network");
        try (var files = Files.list(results)) {
            assertEquals(List.of(a + "-eth0.json"), files.map(f -> f.getFileName().toString()).toList());
        }
        assertEquals(PodSandboxState.SANDBOX_READY, manager.status(a, false).getStatus().getState());
        manager.stop(a);
        manager.remove(a);
        assertNothingLeft();
    }

    @Test
    void recoveryReportsAPodWhoseInfraDiedAsNotReady() {
        String ready = manager.run(pod("a"), "");
        String dead = manager.run(pod("b"), "");
        manager.flush();
        for (int pid : host.processes().find("berth-infra-" + dead)) {
            host.processes().end(pid); // killed while the daemon was down
        }

        manager = newManager();

        assertEquals(PodSandboxState.SANDBOX_READY, manager.status(ready, false).getStatus().getState());
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.status(dead, false).getStatus().getState());
        assertEquals(2, host.processes().live().size(), "the other pod's infra is untouched");
    }

    @Test
    void recoveryReportsAPodWhoseNetnsVanishedAsNotReady() {
        String id = manager.run(pod("a"), "");
        manager.flush();
        Path netns = manager.find(id).orElseThrow().netNamespacePath();
        host.mounts().unmount(netns, 0); // a reboot clears the run dir's mounts

        manager = newManager();

        assertEquals(PodSandboxState.SANDBOX_NOTREADY, manager.status(id, false).getStatus().getState());
        assertNotEquals(List.of(), host.processes().live(), "recovery only reports; removal cleans up");
    }
}
