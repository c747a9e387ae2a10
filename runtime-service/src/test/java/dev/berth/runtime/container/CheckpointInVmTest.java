package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Runs {@link CheckpointRestoreTest} in the cgroup v2 VM (shared/vm/run-in-vm.sh beside the
 * repository), whose kernel CRIU accepts ({@code criu check} fails on the build machines with
 * "Unexpected rt vDSO area bounds"). Skipped where the VM tool is absent or BERTH_SKIP_VM is set.
 */
class CheckpointInVmTest {
    @Test
    void checkpointRestoreRoundTripInTheVm() throws Exception {
        assumeTrue(System.getenv("BERTH_SKIP_VM") == null, "BERTH_SKIP_VM is set");
        assumeTrue("root".equals(System.getProperty("user.name")), "the VM tool needs root");
        Path tool = CgroupV2InVmTest.vmTool();
        assumeTrue(Files.isRegularFile(tool), "no cgroup v2 VM tool at " + tool);
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path wrapper = Path.of("src/test/mountns-jvm/bin/java").toAbsolutePath();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of("bash", tool.toString(), "--timeout", "900", "--mem", "2048",
                "-e", "BERTH_TEST_JAVA=" + java, "--", wrapper.toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED",
                "-cp", classpath, VmJUnitRunner.class.getName(), CheckpointRestoreTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.MINUTES), "VM run timed out");
        System.out.println(out);
        assumeTrue(p.exitValue() != 125, "the VM could not start here: " + tail(out));
        Matcher m = Pattern.compile("vm-junit: succeeded=(\\d+) failed=(\\d+) skipped=(\\d+)").matcher(out);
        assertTrue(m.find(), "no summary from the VM:\n" + tail(out));
        assertEquals("0", m.group(2), tail(out));
        assertEquals("0", m.group(3), "tests skipped inside the VM:\n" + tail(out));
        assertTrue(Integer.parseInt(m.group(1)) >= 1, tail(out));
        assertEquals(0, p.exitValue(), tail(out));
    }

    private static String tail(String s) {
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }
}
