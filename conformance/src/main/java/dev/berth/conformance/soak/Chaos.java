package dev.berth.conformance.soak;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ImageSpec;
import runtime.v1.ImageStatusRequest;
import runtime.v1.ListContainersRequest;
import runtime.v1.ContainerFilter;
import runtime.v1.ListImagesRequest;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PullImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * {@code ./berth soak chaos}: kill -9 of the daemon at random points of the pod-cycle loop; kill -9
 * of a conmon; kill -9 of runc in the middle of {@code create} (a runtime handler whose binary is a
 * wrapper that kills the real runc after a delay); the state root's file system full in the middle
 * of a pull and of a create (a small tmpfs as state root). Each scenario takes a census before and
 * after; findings are printed as a table.
 */
final class Chaos {
    private Chaos() {}

    record Finding(String scenario, List<String> violations, String detail) {}

    static List<String> run(Soak.Options o) throws Exception {
        Path tools = Files.createTempDirectory("berth-soak-chaos-");
        Path wrapper = writeKillingRunc(tools);
        List<Finding> findings = new ArrayList<>();
        try {
            try (Soak.Setup s = Soak.Setup.start(Map.of("BERTH_RUNTIMES_CHAOS", wrapper.toString()))) {
                System.out.printf("soak chaos: %d pod cycles, %d in flight, %d daemon kills, seed %d%n", o.cycles(),
                        o.parallel(), o.kills(), o.seed());
                List<String> v = Soak.loop(s, o.cycles(), o.parallel(), o.kills(), o.seed());
                findings.add(new Finding("kill -9 daemon x" + o.kills() + " in " + o.cycles() + " cycles", v,
                        "acknowledged pods/containers reported truthfully, removable; census equal"));
                findings.add(conmonKill(s));
                findings.add(runcKillMidCreate(s, tools));
            }
            findings.addAll(diskFull());
        } finally {
            Commands.run("rm", "-rf", tools.toString());
        }
        System.out.printf("%n%-44s %-10s %s%n", "chaos scenario", "verdict", "detail");
        List<String> all = new ArrayList<>();
        for (Finding f : findings) {
            System.out.printf("%-44s %-10s %s%n", f.scenario(), f.violations().isEmpty() ? "ok" : "VIOLATION",
                    f.violations().isEmpty() ? f.detail() : String.join("; ", f.violations()));
            f.violations().forEach(x -> all.add(f.scenario() + ": " + x));
        }
        return all;
    }

    /**
     * A runtime binary that passes every command to runc except {@code create}, which it starts and
     * kills -9 after the delay written in {@code delay} next to it ("pass" lets create through).
     */
    static Path writeKillingRunc(Path dir) throws Exception {
        Path w = dir.resolve("killing-runc");
        Files.writeString(dir.resolve("delay"), "pass\n");
        Files.writeString(w, """
                #!/bin/sh
                # berth soak: runc whose `create` is killed -9 after $(cat delay) seconds
                delay=$(cat %s)
                if [ "$delay" != pass ]; then
                  for a in "$@"; do
                    if [ "$a" = create ]; then
                      /usr/sbin/runc "$@" & pid=$!
                      sleep "$delay"; kill -9 $pid 2>/dev/null; wait $pid; exit 137
                    fi
                  done
                fi
                exec /usr/sbin/runc "$@"
                """.formatted(dir.resolve("delay")));
        Files.setPosixFilePermissions(w, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return w;
    }

    static String runPod(BerthDaemon d, PodSandboxConfig pc, String handler) throws Exception {
        Files.createDirectories(Path.of(pc.getLogDirectory()));
        return PodCycle.rt(d).runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(pc).setRuntimeHandler(handler)
                .build()).getPodSandboxId();
    }

    static String createStart(BerthDaemon d, String pod, PodSandboxConfig pc, String image, String name) {
        String id = PodCycle.rt(d).createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                .setSandboxConfig(pc).setConfig(PodCycle.containerConfig(image).toBuilder()
                        .setMetadata(runtime.v1.ContainerMetadata.newBuilder().setName(name)).setLogPath(name + ".log"))
                .build()).getContainerId();
        PodCycle.rt(d).startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    static ContainerState state(BerthDaemon d, String id) {
        return PodCycle.rt(d).containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
                .getStatus().getState();
    }

    static void removePod(BerthDaemon d, String pod, List<String> v) {
        try {
            PodCycle.rt(d).stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            PodCycle.rt(d).removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        } catch (StatusRuntimeException e) {
            v.add("pod not removable: " + e.getStatus());
        }
    }

    static Optional<ProcessHandle> conmonOf(BerthDaemon d, String containerId) {
        return d.namespace().processes().stream().filter(p -> {
            String c = Census.cmdline(p);
            return c.contains("conmon") && c.contains(containerId);
        }).findFirst().flatMap(ProcessHandle::of);
    }

    static boolean awaitState(BerthDaemon d, String id, ContainerState want, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (state(d, id) == want) {
                return true;
            }
            Thread.sleep(200);
        }
        return false;
    }

    /**
     * Two running containers lose their conmon to kill -9. The one whose process lives on must be
     * reported RUNNING and still stop; the one whose process is killed too must be reported EXITED.
     */
    static Finding conmonKill(Soak.Setup s) throws Exception {
        BerthDaemon d = s.daemon();
        List<String> v = new ArrayList<>();
        Census before = Census.take(d);
        PodSandboxConfig pc = PodCycle.podConfig(d, 0, "conmon");
        String pod = runPod(d, pc, "");
        String a = createStart(d, pod, pc, s.image(), "a");
        String b = createStart(d, pod, pc, s.image(), "b");
        ProcessHandle conmonA = conmonOf(d, a).orElseThrow(() -> new IllegalStateException("no conmon for " + a));
        ProcessHandle conmonB = conmonOf(d, b).orElseThrow(() -> new IllegalStateException("no conmon for " + b));
        Optional<ProcessHandle> processB = conmonB.children().findFirst();
        conmonA.destroyForcibly();
        conmonB.destroyForcibly();
        processB.ifPresent(ProcessHandle::destroyForcibly);
        Thread.sleep(1000);
        ContainerState sa = state(d, a);
        if (sa != ContainerState.CONTAINER_RUNNING) {
            v.add("container whose process lives on after its conmon was killed reported " + sa);
        }
        if (processB.isEmpty()) {
            v.add("container b's process not found under its conmon");
        } else if (!awaitState(d, b, ContainerState.CONTAINER_EXITED, 15)) {
            v.add("container killed with its conmon reported " + state(d, b) + " after 15 s");
        }
        try {
            PodCycle.rt(d).stopContainer(StopContainerRequest.newBuilder().setContainerId(a).setTimeout(2).build());
            if (state(d, a) != ContainerState.CONTAINER_EXITED) {
                v.add("container without conmon reported " + state(d, a) + " after StopContainer");
            }
        } catch (StatusRuntimeException e) {
            v.add("StopContainer of a container without conmon failed: " + e.getStatus());
        }
        removePod(d, pod, v);
        v.addAll(Soak.settle(d, before).differencesFrom(before));
        return new Finding("kill -9 conmon (2 containers)", v,
                "live process: RUNNING then stops; dead process: EXITED; pod removed; census equal");
    }

    /** How soon a CreateContainer whose runtime was killed must fail (conmon's own timeout is 120 s). */
    static final long KILLED_CREATE_FAILS_WITHIN_MS = 20_000;

    /** CreateContainer whose runc is killed at several points of create fails cleanly and promptly; then it works. */
    static Finding runcKillMidCreate(Soak.Setup s, Path tools) throws Exception {
        BerthDaemon d = s.daemon();
        List<String> v = new ArrayList<>();
        Census before = Census.take(d);
        PodSandboxConfig pc = PodCycle.podConfig(d, 0, "runc-kill");
        String pod = runPod(d, pc, "chaos");
        List<String> errors = new ArrayList<>();
        for (String delay : List.of("0", "0.05", "0.15", "0.4", "1")) {
            Files.writeString(tools.resolve("delay"), delay + "\n");
            long start = System.nanoTime();
            try {
                String id = createStart(d, pod, pc, s.image(), "k" + delay.replace(".", ""));
                v.add("create with runc killed after " + delay + " s succeeded (container " + id + ")");
            } catch (StatusRuntimeException e) {
                long ms = (System.nanoTime() - start) / 1_000_000;
                errors.add(delay + "s: " + e.getStatus().getCode() + " in " + ms + " ms");
                // berth notices the dead runtime within seconds (Conmon's runtime watch), not at
                // conmon's two-minute create timeout; the bound leaves room for a loaded machine
                if (ms > KILLED_CREATE_FAILS_WITHIN_MS) {
                    v.add("create with runc killed after " + delay + " s failed only after " + ms + " ms: "
                            + e.getStatus());
                }
            }
            int listed = PodCycle.rt(d).listContainers(ListContainersRequest.newBuilder().setFilter(
                    ContainerFilter.newBuilder().setPodSandboxId(pod)).build()).getContainersCount();
            if (listed != 0) {
                v.add("after runc was killed at " + delay + " s, " + listed + " container(s) listed");
            }
        }
        Files.writeString(tools.resolve("delay"), "pass\n");
        try {
            String id = createStart(d, pod, pc, s.image(), "after");
            var r = PodCycle.rt(d).execSync(ExecSyncRequest.newBuilder().setContainerId(id).addCmd("echo").addCmd("ok")
                    .setTimeout(30).build());
            if (!r.getStdout().toString(StandardCharsets.UTF_8).equals("ok\n")) {
                v.add("exec after the killed creates answered " + r);
            }
        } catch (StatusRuntimeException e) {
            v.add("create after the killed creates failed: " + e.getStatus());
        }
        removePod(d, pod, v);
        v.addAll(Soak.settle(d, before).differencesFrom(before));
        return new Finding("kill -9 runc mid-create (5 points)", v, "create failed " + errors
                + "; nothing listed; next create works; census equal");
    }

    /**
     * The state root on a 128 MiB tmpfs. Mid-pull: a 40 MiB layer with 20 MiB free fails with a clear
     * error and leaves no image and no partial blob; after freeing space the pull works. Mid-create:
     * with 0 bytes free CreateContainer fails and lists nothing; after freeing space it works.
     */
    static List<Finding> diskFull() throws Exception {
        List<Finding> out = new ArrayList<>();
        try (LocalRegistry reg = LocalRegistry.start()) {
            String busybox = TestImages.pushBusybox(reg, "soak/busybox", "1").reference();
            String big = TestImages.image().layer(TestImages.busyboxLayer())
                    .layer(new TestImages.Layer().randomFile("/big", 40L << 20, 7)).push(reg, "soak/big", "1")
                    .reference();
            BerthDaemon d = BerthDaemon.prepare(Map.of());
            try {
                Commands.run("mkdir", "-p", d.root().toString()).orThrow();
                d.namespace().run("mount", "-t", "tmpfs", "-o", "size=128m,mode=0700", "berth-soak-root",
                        d.root().toString()).orThrow();
                d.startProcess(Soak.START_TIMEOUT);
                d.client().images().pullImage(PullImageRequest.newBuilder()
                        .setImage(ImageSpec.newBuilder().setImage(busybox)).build());
                out.add(fullMidPull(d, big));
                out.add(fullMidCreate(d, busybox));
            } finally {
                d.close();
            }
        }
        return out;
    }

    static long freeKiB(BerthDaemon d) {
        String[] l = d.namespace().run("df", "-k", "--output=avail", d.root().toString()).output().strip().split("\n");
        return Long.parseLong(l[l.length - 1].strip());
    }

    static void fill(BerthDaemon d, long leaveKiB) {
        long n = Math.max(0, freeKiB(d) - leaveKiB);
        d.namespace().run("sh", "-c", "dd if=/dev/zero of=" + d.root().resolve("filler") + " bs=1k count=" + n
                + " 2>/dev/null; true");
    }

    static void unfill(BerthDaemon d) {
        d.namespace().run("rm", "-f", d.root().resolve("filler").toString());
    }

    static int imageCount(BerthDaemon d) {
        return d.client().images().listImages(ListImagesRequest.getDefaultInstance()).getImagesCount();
    }

    static Finding fullMidPull(BerthDaemon d, String big) {
        List<String> v = new ArrayList<>();
        Census before = Census.take(d);
        int images = imageCount(d);
        fill(d, 20 << 10);
        long free = freeKiB(d);
        String error = "";
        try {
            d.client().images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(big))
                    .build());
            v.add("pull of 40 MiB into " + free / 1024 + " MiB free succeeded");
        } catch (StatusRuntimeException e) {
            error = e.getStatus().getCode() + " \"" + e.getStatus().getDescription() + "\"";
            String msg = String.valueOf(e.getStatus().getDescription()).toLowerCase();
            if (!msg.contains("space")) {
                v.add("pull failed without saying the disk is full: " + error);
            }
        }
        if (imageCount(d) != images) {
            v.add("image count " + images + " -> " + imageCount(d) + " after the failed pull");
        }
        if (d.client().images().imageStatus(ImageStatusRequest.newBuilder().setImage(ImageSpec.newBuilder()
                .setImage(big)).build()).hasImage()) {
            v.add("the failed pull's image is reported");
        }
        long freeAfter = freeKiB(d);
        if (freeAfter < free - 1024) {
            v.add("the failed pull left " + (free - freeAfter) / 1024 + " MiB behind");
        }
        unfill(d);
        try {
            d.client().images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(big))
                    .build());
            d.client().images().removeImage(runtime.v1.RemoveImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(big)).build());
        } catch (StatusRuntimeException e) {
            v.add("pull after freeing space failed: " + e.getStatus());
        }
        v.addAll(Census.take(d).differencesFrom(before));
        return new Finding("state root full mid-pull", v, "pull failed " + error + "; no image, no partial "
                + "blob; pull works after freeing space");
    }

    static Finding fullMidCreate(BerthDaemon d, String image) throws Exception {
        List<String> v = new ArrayList<>();
        Census before = Census.take(d);
        PodSandboxConfig pc = PodCycle.podConfig(d, 0, "full");
        String pod = runPod(d, pc, "");
        fill(d, 0);
        String error = "";
        try {
            createStart(d, pod, pc, image, "full");
            v.add("create with the state root full succeeded");
        } catch (StatusRuntimeException e) {
            error = e.getStatus().getCode() + " \"" + e.getStatus().getDescription() + "\"";
        }
        try {
            int listed = PodCycle.rt(d).listContainers(ListContainersRequest.newBuilder().setFilter(
                    ContainerFilter.newBuilder().setPodSandboxId(pod)).build()).getContainersCount();
            if (listed != 0) {
                v.add(listed + " container(s) listed after the failed create");
            }
        } catch (StatusRuntimeException e) {
            v.add("ListContainers with the disk full failed: " + e.getStatus());
        }
        unfill(d);
        try {
            String id = createStart(d, pod, pc, image, "after");
            var r = PodCycle.rt(d).execSync(ExecSyncRequest.newBuilder().setContainerId(id).addCmd("echo").addCmd("ok")
                    .setTimeout(30).build());
            if (!r.getStdout().toString(StandardCharsets.UTF_8).equals("ok\n")) {
                v.add("exec after freeing space answered " + r);
            }
        } catch (StatusRuntimeException e) {
            v.add("create after freeing space failed: " + e.getStatus());
        }
        removePod(d, pod, v);
        try {
            v.addAll(Soak.settle(d, before).differencesFrom(before));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new Finding("state root full mid-create", v, "create failed " + error
                + "; nothing listed; create works after freeing space; census equal");
    }
}
