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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The package on a node with systemd as PID 1 and pure cgroup v2 (../shared/vm, --systemd):
 * src/test/vm/node-lifecycle.sh installs it, starts berth.service, pushes a busybox-static image
 * into a docker-registry it starts on the guest's loopback (no network), pulls it and runs a pod
 * with a container through the CRI socket (crictl from ../shared/critest), restarts and stops the
 * unit with the container running (same pid, reported), upgrades to a newer version (built here
 * from the package with its version bumped), and purges. Fails when the VM tool, crictl, skopeo or
 * docker-registry is missing, unless BERTH_SKIP_VM is set.
 */
@Timeout(value = 45, unit = TimeUnit.MINUTES)
class PackageInVmTest {

    // Passed end to end in the VM on 2026-11-30 (21-27 min on a 2-core machine under load 8-17,
    // each JVM start 2-7 min under emulation; on a quiet machine a start is 60-80 s, a run ~10 min, estimated).
    @Test
    void installStartRestartStopUpgradeAndPurgeOnASystemdNode() throws Exception {
        String skip = System.getenv("BERTH_SKIP_VM");
        assumeFalse(skip != null && !skip.isBlank() && !skip.equals("0"), "BERTH_SKIP_VM is set");
        assumeFalse(System.getProperty("berth.skipDeb") != null, "the package is not built (-Dberth.skipDeb)");
        assumeTrue("root".equals(System.getProperty("user.name")), "the VM tool needs root");
        Path shared = Path.of("..").toAbsolutePath().normalize().resolveSibling("shared");
        Path tool = shared.resolve("vm/run-in-vm.sh");
        Path crictl = shared.resolve("critest/bin/crictl");
        for (Path needed : List.of(tool, crictl, Path.of("/usr/bin/docker-registry"), Path.of("/usr/bin/skopeo"),
                Path.of("/bin/busybox"), Path.of("/usr/bin/dpkg-deb"), Path.of("/usr/bin/sqlite3"),
                Path.of("/usr/bin/openssl"), Path.of("/usr/bin/curl"))) {
            if (!Files.exists(needed)) {
                fail(needed + " is missing (the cgroup v2 VM, the critest kit's crictl, Debian's docker-registry, "
                        + "skopeo, busybox-static, sqlite3, openssl, curl); "
                        + "set BERTH_SKIP_VM=1 to run the tests without it");
            }
        }
        Path deb;
        try (Stream<Path> s = Files.list(Path.of("target"))) {
            deb = s.filter(p -> p.getFileName().toString().matches("berth_.*_amd64\\.deb")).findFirst()
                    .orElseThrow(() -> new AssertionError("no target/berth_*_amd64.deb")).toAbsolutePath();
        }
        Path upgrade = bumpedVersion(deb, Path.of("target", "vm-upgrade").toAbsolutePath());
        Path console = Path.of("target", "vm-node-lifecycle.out");
        Process p = new ProcessBuilder("bash", tool.toString(), "--systemd", "--timeout", "2400",
                "--", "bash", Path.of("src/test/vm/node-lifecycle.sh").toAbsolutePath().toString(),
                deb.toString(), upgrade.toString(), crictl.toString())
                .redirectErrorStream(true).redirectOutput(console.toFile()).start();
        p.getOutputStream().close();
        if (!p.waitFor(42, TimeUnit.MINUTES)) {
            p.destroy(); // the VM tool kills its VM on SIGTERM
            p.waitFor(30, TimeUnit.SECONDS);
            fail("the VM run did not end within 42 min:\n" + tail(console));
        }
        String out = tail(console);
        System.out.println(out);
        if (p.exitValue() == 125) {
            fail("the cgroup v2 VM could not run the command (set BERTH_SKIP_VM=1 to run the tests without it):\n" + out);
        }
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("NODE LIFECYCLE OK"), out);
        // the TLS registry behind the proxy is reported on its own line, early in the run
        String all = Files.readString(console, StandardCharsets.UTF_8);
        assertTrue(all.contains("REGISTRY PROXY TLS OK"), all.lines().filter(l -> l.contains("REGISTRY PROXY TLS"))
                .findFirst().orElse("no REGISTRY PROXY TLS line in " + console));
    }

    /** The same package with its version raised (VERSION+vmupgrade1): what an upgrade installs. */
    private static Path bumpedVersion(Path deb, Path dir) throws Exception {
        String script = """
                set -e
                rm -rf "$2"; mkdir -p "$2/tree"
                dpkg-deb -R "$1" "$2/tree"
                sed -i 's/^Version: .*/&+vmupgrade1/' "$2/tree/DEBIAN/control"
                dpkg-deb -Zgzip -z1 -b "$2/tree" "$2/berth-upgrade.deb" >/dev/null
                rm -rf "$2/tree"
                """;
        Process p = new ProcessBuilder("sh", "-c", script, "bump", deb.toString(), dir.toString())
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "dpkg-deb did not end");
        assertEquals(0, p.exitValue(), "building the upgrade package: " + out);
        return dir.resolve("berth-upgrade.deb");
    }

    private static String tail(Path f) throws IOException {
        String s = Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
        return s.length() > 8000 ? "..." + s.substring(s.length() - 8000) : s;
    }
}
