package dev.berth.conformance.critest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.OptOut;
import dev.berth.conformance.harness.Commands;
import dev.berth.conformance.harness.CritestKit;
import dev.berth.conformance.harness.CritestResults;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * critest's OOMKilled spec, which this host's cgroup2 (no memory controller) rules out, run where it
 * can pass: registry, berth daemon and critest inside the pure cgroup v2 VM (../shared/vm), with
 * {@link CritestInVm}. Needs the critest kit and the VM tool; fails when either is missing or the VM
 * does not boot, unless BERTH_SKIP_CRITEST or BERTH_SKIP_VM opts out.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class CritestOomInVmTest {
    static final String FOCUS = "OOMKilled";

    @Test
    void oomKilledSpecPassesWithAMemoryController() throws Exception {
        OptOut.CRITEST.skipIfSet();
        OptOut.VM.skipIfSet();
        assumeTrue("root".equals(System.getProperty("user.name")), "the VM tool, the daemon and critest need root");
        CritestKit kit = CritestKit.locate();
        OptOut.CRITEST.require(kit.missing());
        Path home = Path.of(System.getProperty("berth.home", "..")).toAbsolutePath().normalize();
        Path tool = home.resolveSibling("shared").resolve("vm").resolve("run-in-vm.sh");
        OptOut.VM.require(Files.isRegularFile(tool) ? Optional.empty()
                : Optional.of("no cgroup v2 VM tool at " + tool));

        Path report = Path.of("target", "critest-vm").toAbsolutePath();
        Commands.run("rm", "-rf", report.toString());
        Files.createDirectories(report);
        // The guest gets a copy of the kit's state (built images, registry data): it has no network.
        try (CritestKit.Registry registry = kit.startRegistry()) {
            List<String> cmd = new ArrayList<>(List.of("bash", tool.toString(), "--timeout", "1500", "--mem", "3072"));
            cmd.addAll(share(kit.state()));
            cmd.addAll(share(report));
            kit.env().forEach((k, v) -> cmd.addAll(List.of("-e", k + "=" + v)));
            cmd.addAll(List.of("--", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dberth.home=" + home,
                    "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                    CritestInVm.class.getName(), report.toString(), kit.state().toString(), FOCUS));
            Path console = report.resolve("vm-console.out");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(console.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(28, TimeUnit.MINUTES)) {
                p.destroy(); // the VM tool kills its VM on SIGTERM
                p.waitFor(30, TimeUnit.SECONDS);
                fail("the critest run in the VM did not end within 28 min:\n" + tail(console));
            }
            String out = tail(console);
            System.out.println(out);
            if (p.exitValue() == 125) {
                fail("the cgroup v2 VM could not run the command" + OptOut.VM.hint() + ":\n" + out);
            }
            assertEquals(0, p.exitValue(), "critest in the VM:\n" + out);
        }
        CritestResults results = CritestResults.parse(report.resolve("results-" + CritestKit.VERSION + ".tsv"));
        List<CritestResults.Spec> oom = results.specs().stream()
                .filter(s -> s.name().contains(SpecAllowance.OOM_SPEC)).toList();
        assertEquals(1, oom.size(), "one OOMKilled spec in " + results.specs());
        assertTrue(oom.getFirst().is("passed"), "in the cgroup v2 VM: " + oom.getFirst().status() + " " + oom.getFirst());
        assertEquals(1, results.ran(), "the focus ran only the OOMKilled spec: " + results.summary());
    }

    /**
     * A directory the guest must see as the host's: shared read-write. Under /tmp only when the
     * working directory is not in the same top directory, which the VM tool shares by itself
     * (a nested share would be hidden by it).
     */
    private static List<String> share(Path dir) {
        Path cwd = Path.of("").toAbsolutePath();
        if (dir.startsWith("/tmp") && dir.getNameCount() > 1 && cwd.startsWith("/tmp") && cwd.getNameCount() > 1
                && dir.subpath(0, 2).equals(cwd.subpath(0, 2))) {
            return List.of();
        }
        return List.of("--share", dir.toString());
    }

    private static String tail(Path f) throws IOException {
        String s = Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
        return s.length() > 6000 ? "..." + s.substring(s.length() - 6000) : s;
    }
}
