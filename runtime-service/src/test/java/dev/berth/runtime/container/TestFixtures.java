package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.state.StateStore;
import dev.berth.image.ImageLookup;
import dev.berth.image.LocalImage;
import dev.berth.runtime.cgroup.CgroupHost;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.runtime.sandbox.SandboxLookup;
import dev.berth.runtime.sandbox.SandboxView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;

/** Small stand-ins for image-service and the sandbox side, backed by real files. */
final class TestFixtures {
    static final Path RUNC = Path.of("/usr/sbin/runc");
    static final Path CRUN = Path.of("/usr/bin/crun");
    static final Path CONMON = Path.of("/usr/bin/conmon");
    static final Path BUSYBOX = Path.of("/bin/busybox");
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "id", "ls", "pwd", "env", "touch",
            "mkdir", "true", "false", "yes", "head", "tail", "chown", "swapon", "wc", "kill", "ps", "dd", "grep", "stat",
            "seq");

    private TestFixtures() {}

    /** Skips unless this is root in a private mount namespace with cgroup2 at /sys/fs/cgroup and the tools exist. */
    static void assumeContainerHost() {
        assumeTrue("root".equals(System.getProperty("user.name")), "container tests need root");
        for (Path p : List.of(RUNC, CONMON, BUSYBOX)) {
            assumeTrue(Files.isExecutable(p), p + " is not installed");
        }
        assumeTrue(new CgroupHost(Path.of("/sys/fs/cgroup")).notReadyReason().isEmpty(),
                "needs cgroup2 at /sys/fs/cgroup (run through src/test/sh/src/test/mountns-jvm/bin/java)");
        assumeTrue(privateMountNamespace(), "needs a private mount namespace (src/test/mountns-jvm/bin/java)");
    }

    /** The surefire JVM wrapper says so after unshare(1) made the namespace. */
    static boolean privateMountNamespace() {
        return "1".equals(System.getenv("BERTH_TEST_MOUNTNS"));
    }

    /** A busybox-static root filesystem with users root, app (1000:1000, also in group extra 2000). */
    static Path busyboxRootfs(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("bin"));
        Files.copy(BUSYBOX, dir.resolve("bin/busybox"));
        for (String a : APPLETS) {
            Files.createSymbolicLink(dir.resolve("bin").resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("etc", "tmp", "proc", "sys", "dev", "root", "home/app", "data")) {
            Files.createDirectories(dir.resolve(d));
        }
        Files.writeString(dir.resolve("etc/passwd"), """
                root:x:0:0:root:/root:/bin/sh
                app:x:1000:1000:app:/home/app:/bin/sh
                nobody:x:65534:65534:nobody:/:/bin/false
                """);
        Files.writeString(dir.resolve("etc/group"), """
                root:x:0:
                app:x:1000:
                extra:x:2000:app
                nogroup:x:65534:
                """);
        Files.writeString(dir.resolve("data/hello.txt"), "from the image\n");
        return dir;
    }

    static LocalImage image(String id, Path lower, LocalImage.Config config) {
        return new LocalImage(id, List.of("localhost/busybox:test"), List.of(), 1, config, List.of(lower));
    }

    static LocalImage.Config config(List<String> entrypoint, List<String> cmd, String user) {
        return new LocalImage.Config(user, entrypoint, cmd, List.of("PATH=/bin", "IMAGE_ENV=1"), "", "", Map.of());
    }

    /** A ContainerService over {@code tmp} with real runc/crun and conmon, as the daemon wires it. */
    static ContainerService service(Path tmp, StateStore store, CgroupManager cgroups, ImageLookup images,
            SandboxLookup pods, Map<String, Path> runtimes) {
        return new ContainerService(store, images, pods,
                new OciRuntimes(runtimes, "runc", tmp.resolve("run/runtimes")),
                new Conmon(CONMON, tmp.resolve("run/exits"), tmp.resolve("run/attach"), dev.berth.linux.host.LinuxHost.system().processes()), cgroups,
                new ContainerService.Settings(tmp.resolve("containers"), Path.of("/usr/share/containers/seccomp.json"),
                        false, 1 << 20), dev.berth.linux.host.LinuxHost.system());
    }

    /** Removes every container the test made, the pod cgroup, the store and the temp root. */
    static void cleanUp(ContainerService service, StateStore store, CgroupManager cgroups, String podCgroup, Path tmp)
            throws IOException {
        if (service == null) {
            return;
        }
        for (ContainerRecord r : store.list(ContainerRecord.KIND, ContainerRecord.class)) {
            service.remove(r.id());
        }
        // the monitors' leaf beside the containers
        new dev.berth.runtime.sandbox.PodCgroup(dev.berth.linux.host.LinuxHost.system().cgroups(cgroups.dir("/"))).removeLeaves(podCgroup);
        cgroups.remove(podCgroup);
        store.close();
        RootFs.deleteTree(tmp);
    }

    static class Images implements ImageLookup {
        final Map<String, LocalImage> byRef = new HashMap<>();

        @Override
        public Optional<LocalImage> find(String reference) {
            return Optional.ofNullable(byRef.get(reference));
        }
    }

    static final class Pods implements SandboxLookup {
        final Map<String, SandboxView> byId = new HashMap<>();

        @Override
        public Optional<SandboxView> find(String sandboxId) {
            return Optional.ofNullable(byId.get(sandboxId));
        }
    }

    /** A pod on the host's network/IPC/UTS namespaces with its own files and cgroup. */
    static SandboxView pod(String id, Path dir, String cgroup, String handler) throws IOException {
        Files.createDirectories(dir);
        Path hosts = Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n10.0.0.9 testpod\n");
        Path resolv = Files.writeString(dir.resolve("resolv.conf"), "nameserver 127.0.0.1\n");
        Path hostname = Files.writeString(dir.resolve("hostname"), "testpod\n");
        Path logs = Files.createDirectories(dir.resolve("logs"));
        PodSandboxConfig cfg = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName("p").setNamespace("ns").setUid(id))
                .setLogDirectory(logs.toString())
                .build();
        return new SandboxView(id, cfg, true, handler, null, null, null, null, cgroup, hosts, resolv, hostname, null);
    }
}
