package dev.berth.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The opt-in installer DaemonSet's script, run for real on a systemd node (../shared/vm, --systemd) as its
 * pod would run it: the chart is rendered with the installer and the kubelet switch on, its ConfigMap
 * (script, config) and container env go into the VM, and src/test/vm/installer-in-vm.sh runs the script
 * with the node's / at /host and the package built by the packaging module at the image's path. It
 * asserts the package installed, the config written from values, berth.service enabled, active and
 * answering CRI on its socket, a stand-in kubelet's config switched to berth and kubelet restarted;
 * between the two, a container outgrowing its memory limit is reported OOMKilled by ContainerStatus and
 * counted by berth_container_oom_kills_total (this host's cgroup2 has no memory controller, the VM's
 * has); then SIGTERM (the DaemonSet deleted) and everything reverted. Without the VM tool, the critest kit
 * (crictl, registry data), docker-registry or a built package ({@code ./mvnw -o -q -pl packaging -am
 * -DskipTests package}) it fails, saying why; BERTH_SKIP_VM=1, -Dberth.skipDeb or not being root skip it.
 */
@Timeout(value = 18, unit = TimeUnit.MINUTES)
class InstallerInVmTest {
    static final Path SHARED = Chart.HOME.resolveSibling("shared");
    static final Path VM_TOOL = SHARED.resolve("vm/run-in-vm.sh");
    static final Path CRICTL = SHARED.resolve("critest/bin/crictl");

    static final Path REGISTRY_DATA = Path.of(System.getenv().getOrDefault("CRITEST_ENV_STATE", "/tmp/critest-kit"),
            "registry/data");
    /** The VM's output: one boot for both tests (each boot starts berth's JVM under emulation). */
    static String vmOut;

    @BeforeAll
    static void runOnASystemdNode() throws Exception {
        // The kit's registry data is made by its start-registry.sh, which the critest tests run first.
        String skipCritest = System.getenv("BERTH_SKIP_CRITEST");
        assumeFalse(skipCritest != null && !skipCritest.isBlank() && !skipCritest.equals("0")
                && !Files.exists(REGISTRY_DATA), "BERTH_SKIP_CRITEST is set and the critest kit's registry data is absent");
        Path deb = VmRun.requireVmAnd(Map.of(CRICTL, "crictl of the critest kit",
                REGISTRY_DATA, "registry data of the critest kit (../shared/critest/start-registry.sh makes it)",
                Path.of("/usr/bin/docker-registry"), "docker-registry (apt-get install docker-registry)"));
        List<HasMetadata> objects = ChartTest.parseAll(Chart.template(Map.of(
                "installer.enabled", true, "installer.switchKubelet", true)));
        ConfigMap cm = ChartTest.of(objects, ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().endsWith("-installer")).findFirst().orElseThrow();
        DaemonSet ds = ChartTest.of(objects, DaemonSet.class).stream()
                .filter(d -> d.getMetadata().getName().endsWith("-installer")).findFirst().orElseThrow();
        PodSpec pod = ds.getSpec().getTemplate().getSpec();
        Container c = pod.getContainers().getFirst();
        // The VM script builds the pod from these: the node's / at /host, the ConfigMap at /scripts and /config.
        assertTrue(pod.getHostPID(), "nsenter --target 1 needs the host's PID namespace");
        assertEquals(List.of("/bin/sh", "/scripts/install.sh"), c.getCommand());
        Map<String, String> mounts = c.getVolumeMounts().stream()
                .collect(Collectors.toMap(VolumeMount::getName, VolumeMount::getMountPath));
        assertEquals(Map.of("host", "/host", "scripts", "/scripts", "config", "/config"), mounts);
        assertEquals("/", pod.getVolumes().stream().filter(v -> v.getName().equals("host")).findFirst()
                .orElseThrow().getHostPath().getPath());

        Path work = Chart.HOME.resolve("helm/target/installer-vm");
        Files.createDirectories(work);
        Files.writeString(work.resolve("install.sh"), cm.getData().get("install.sh"));
        Files.writeString(work.resolve("config.yaml"), cm.getData().get("config.yaml"));
        StringBuilder env = new StringBuilder();
        for (EnvVar e : c.getEnv()) {
            env.append(e.getName()).append("='").append(e.getValue().replace("'", "'\\''")).append("'\n");
        }
        Files.writeString(work.resolve("pod.env"), env);
        assertTrue(env.toString().contains("SWITCH_KUBELET='true'"), env.toString());

        // The guest gets a fresh /tmp (with --host-tmp and --systemd here it never ran its command): the
        // registry data (a few MiB) goes beside the rendered files, which it sees read-only.
        Path registry = work.resolve("registry-data");
        copyTree(REGISTRY_DATA, registry);
        // Runs took 7 to 12 min on the 2-core build machine at load up to ~17 (each step is timed in vm.out).
        vmOut = VmRun.run(work.resolve("vm.out"), 17, "--systemd", "--timeout", "960",
                // berth's overlay mounts need an upper layer that is not the guest's own overlay root
                "--tmpfs", "/var/lib/berth",
                "-e", "REGISTRY_DATA=" + registry,
                "--", "bash", Chart.HOME.resolve("helm/src/test/vm/installer-in-vm.sh").toString(),
                work.toString(), deb.toString(), CRICTL.toString());
    }

    static void copyTree(Path from, Path to) throws IOException {
        if (Files.exists(to)) {
            return;
        }
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    @Test
    void installerInstallsBerthAndSwitchesKubeletThenUndoesItAll() {
        assertTrue(vmOut.contains("INSTALLER INSTALLED"), VmRun.tail(vmOut));
        assertTrue(vmOut.contains("INSTALLER UNDONE"), VmRun.tail(vmOut));
    }

    @Test
    void aContainerOverItsMemoryLimitIsReportedOomKilledAndCounted() {
        assertTrue(vmOut.contains("OOM KILL COUNTED"), VmRun.tail(vmOut));
    }

    /** The cgroup v2 VM of ../shared/vm: when it can run here, and one run of it. */
    static final class VmRun {
        static final String OPT_OUT = " (set BERTH_SKIP_VM=1 to run the tests without the VM)";

        private VmRun() {}

        /**
         * The built .deb, when the VM, root and what is {@code needed} are here. As the other VM tests: what
         * is missing fails, naming the opt-out; only BERTH_SKIP_VM, no root or -Dberth.skipDeb skip.
         */
        static Path requireVmAnd(Map<Path, String> needed) throws IOException {
            String skip = System.getenv("BERTH_SKIP_VM");
            assumeFalse(skip != null && !skip.isBlank() && !skip.equals("0"), "BERTH_SKIP_VM is set");
            assumeFalse(System.getProperty("berth.skipDeb") != null, "the package is not built (-Dberth.skipDeb)");
            assumeTrue("root".equals(System.getProperty("user.name")), "the VM tool needs root");
            assertTrue(Files.isExecutable(VM_TOOL), "no cgroup v2 VM tool at " + VM_TOOL + OPT_OUT);
            needed.forEach((path, what) -> assertTrue(Files.exists(path), "no " + what + " at " + path + OPT_OUT));
            Path target = Chart.HOME.resolve("packaging/target");
            try (Stream<Path> s = Files.isDirectory(target) ? Files.list(target) : Stream.empty()) {
                return s.filter(p -> p.getFileName().toString().matches("berth_.*_amd64\\.deb")).findFirst()
                        .orElseGet(() -> fail("no packaging/target/berth_*_amd64.deb: build it with "
                                + "./mvnw -B -o -q -pl packaging -am -DskipTests package" + OPT_OUT));
            }
        }

        /** Runs the VM tool with {@code args}; its output (also in {@code console}) when it exits 0. */
        static String run(Path console, int minutes, String... args) throws Exception {
            List<String> cmd = new java.util.ArrayList<>(List.of("bash", VM_TOOL.toString()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(console.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
                p.destroy(); // the VM tool kills its VM on SIGTERM
                p.waitFor(30, TimeUnit.SECONDS);
                fail("the VM run did not end within " + minutes + " min:\n" + tail(console));
            }
            String out = tail(console);
            System.out.println(out);
            assertNotEquals(125, p.exitValue(), () -> "the cgroup v2 VM could not run here" + OPT_OUT + ":\n" + out);
            assertEquals(0, p.exitValue(), out);
            return Files.readString(console, StandardCharsets.UTF_8); // whole: the markers may be far up
        }

        static String tail(Path f) throws IOException {
            return tail(Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "");
        }

        static String tail(String s) {
            return s.length() > 12000 ? "..." + s.substring(s.length() - 12000) : s;
        }
    }
}
