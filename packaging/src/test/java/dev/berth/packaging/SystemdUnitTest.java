package dev.berth.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * berth.service says what a node daemon of containers must (issue 13, point 2), and systemd's own
 * checker accepts it. systemd-analyze runs against a scratch root holding the host's system units,
 * /bin/kill and a stand-in /usr/bin/berth, so the check does not depend on berth being installed.
 */
class SystemdUnitTest {
    static final Path UNIT = Path.of("src/deb/systemd/berth.service");

    @TempDir
    Path root;

    @Test
    void theUnitHasEverySettingANodeDaemonNeeds() throws IOException {
        Map<String, List<String>> service = section("Service");
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("Type", "notify");
        expected.put("ExecStart", "/usr/bin/berth");
        expected.put("Delegate", "yes");
        expected.put("KillMode", "process");
        expected.put("OOMScoreAdjust", "-999");
        expected.put("LimitNOFILE", "1048576");
        expected.put("TasksMax", "infinity");
        expected.put("Restart", "always");
        expected.put("SuccessExitStatus", "143");
        expected.put("ExecReload", "/bin/kill -HUP $MAINPID");
        expected.forEach((k, v) -> assertEquals(List.of(v), service.get(k), k));
        assertEquals(List.of("multi-user.target"), section("Install").get("WantedBy"));
    }

    @Test
    void systemdAnalyzeVerifyIsClean() throws Exception {
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        if (!Files.isExecutable(analyze)) {
            fail("systemd-analyze is missing: apt-get install systemd (listed in ./berth TEST_PACKAGES)");
        }
        Path units = root.resolve("lib/systemd/system");
        Files.createDirectories(units);
        try (Stream<Path> s = Files.list(Path.of("/lib/systemd/system"))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".target") || p.toString().endsWith(".slice")).toList()) {
                Files.copy(p, units.resolve(p.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        Files.copy(UNIT, units.resolve("berth.service"));
        Files.createDirectories(root.resolve("bin"));
        Files.copy(Path.of("/bin/kill"), root.resolve("bin/kill"));
        Path berth = root.resolve("usr/bin/berth");
        Files.createDirectories(berth.getParent());
        Files.writeString(berth, "#!/bin/sh\nexit 0\n");
        berth.toFile().setExecutable(true);

        Process p = new ProcessBuilder(analyze.toString(), "verify", "--man=no", "--root=" + root, "berth.service")
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "systemd-analyze hangs");
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals("", out.strip(), "systemd-analyze verify complains");
        assertEquals(0, p.exitValue(), out);

        // the check is real: a unit with a mistake fails it
        Files.writeString(units.resolve("berth.service"), Files.readString(UNIT).replace("KillMode=process",
                "KillMode=processes"));
        Process bad = new ProcessBuilder(analyze.toString(), "verify", "--man=no", "--root=" + root,
                "berth.service").redirectErrorStream(true).start();
        assertTrue(bad.waitFor(60, TimeUnit.SECONDS));
        String badOut = new String(bad.getInputStream().readAllBytes());
        assertTrue(badOut.toLowerCase().contains("kill mode"), "a bad KillMode passed: " + badOut);
    }

    /** key -> values of one [section] (comments and blank lines skipped). */
    private static Map<String, List<String>> section(String name) throws IOException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        String current = "";
        for (String line : Files.readAllLines(UNIT)) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            if (l.startsWith("[")) {
                current = l.substring(1, l.length() - 1);
            } else if (current.equals(name)) {
                int eq = l.indexOf('=');
                out.computeIfAbsent(l.substring(0, eq), k -> new ArrayList<>()).add(l.substring(eq + 1));
            }
        }
        return out;
    }
}
