package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
 * Runs {@link CgroupV2LimitsTest} in the pure cgroup v2 VM (shared/vm/run-in-vm.sh beside the
 * repository) from the host build, so limit enforcement (memory.max ending in OOMKilled, pids.max,
 * cpu.max, UpdateContainerResources) is checked on every full test run, not only by hand, wherever
 * the checkout lies (the VM tool shares a working directory under /tmp with the guest). A missing
 * VM tool or a VM that cannot run the command fails the test, saying why; only BERTH_SKIP_VM skips
 * it. Inside the VM itself the limits test runs directly.
 */
class CgroupV2InVmTest {
    private static final String OPT_OUT = " (set BERTH_SKIP_VM=1 to run the tests without the VM)";

    static Path vmTool() {
        Path repo = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
        return repo.resolveSibling("shared").resolve("vm").resolve("run-in-vm.sh");
    }

    @Test
    void limitsHoldInTheCgroupV2Vm() throws Exception {
        runInVm(CgroupV2LimitsTest.class, 3, "the limits test");
    }

    /**
     * Runs a JUnit class as root in the cgroup v2 VM and asserts at least {@code atLeast} of its tests
     * passed there and none failed or skipped. No VM tool or a VM that cannot run fails, naming the
     * opt-out; only BERTH_SKIP_VM skips.
     */
    static void runInVm(Class<?> testClass, int atLeast, String what) throws Exception {
        String skip = System.getenv("BERTH_SKIP_VM");
        assumeTrue(skip == null || skip.isBlank() || skip.equals("0"), "BERTH_SKIP_VM is set");
        assumeTrue("root".equals(System.getProperty("user.name")), "the VM tool needs root");
        Path tool = vmTool();
        assertTrue(Files.isRegularFile(tool), "no cgroup v2 VM tool at " + tool + OPT_OUT);
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path wrapper = Path.of("src/test/mountns-jvm/bin/java").toAbsolutePath();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of("bash", tool.toString(), "--timeout", "600", "--mem", "2048",
                "-e", "BERTH_TEST_JAVA=" + java, "--", wrapper.toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED",
                "-cp", classpath, VmJUnitRunner.class.getName(), testClass.getName()));
        // Under TCG emulation a guest was seen stalling before its first line of output (no JVM
        // warning, nothing on the console) for the whole timeout, while the same run passed on the
        // next boot: one more boot only for that case, never for a run that printed anything.
        Process p = null;
        String out = "";
        for (int boot = 1; boot <= 2; boot++) {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(20, TimeUnit.MINUTES), "VM run timed out");
            boolean silentStall = p.exitValue() == 124 && !out.contains("vm-junit:") && !out.contains("WARNING");
            if (!silentStall) {
                break;
            }
            System.out.println("the VM printed nothing before its timeout (boot " + boot + "):\n" + tail(out));
        }
        System.out.println(out);
        assertNotEquals(125, p.exitValue(), "the VM could not run " + what + OPT_OUT + ":\n" + tail(out));
        Matcher m = Pattern.compile("vm-junit: succeeded=(\\d+) failed=(\\d+) skipped=(\\d+)").matcher(out);
        assertTrue(m.find(), "no summary from the VM:\n" + tail(out));
        assertEquals("0", m.group(2), tail(out));
        assertEquals("0", m.group(3), "tests skipped inside the VM:\n" + tail(out));
        assertTrue(Integer.parseInt(m.group(1)) >= atLeast, tail(out));
        assertEquals(0, p.exitValue(), tail(out));
    }

    private static String tail(String s) {
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }
}
