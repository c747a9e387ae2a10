package dev.berth.conformance.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The daemon's JVM flags are written three times: the repository's {@code ./berth} (JVM_FLAGS), the
 * package's launcher (its {@code exec ... java} line) and {@link BerthDaemon#JVM_FLAGS}, with which
 * tests and benches start the daemon. Measured figures only hold if the three agree. A plain unit
 * test: it reads the two scripts as text.
 */
class LauncherFlagsTest {
    static final String DEV_LAUNCHER = "berth";
    static final String PACKAGE_LAUNCHER = "packaging/src/deb/bin/berth";
    /** The class archive's file: each launcher keeps it elsewhere (the build tree, /var/cache/berth). */
    static final String ARCHIVE_FILE = "-XX:SharedArchiveFile=";

    /** The checkout's root: the first directory up from the working directory with the launcher and the reactor pom. */
    static Path repoRoot() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve(DEV_LAUNCHER)) && Files.isRegularFile(d.resolve("pom.xml"))
                    && Files.isRegularFile(d.resolve(PACKAGE_LAUNCHER))) {
                return d;
            }
        }
        throw new IllegalStateException("no berth checkout above " + Path.of("").toAbsolutePath());
    }

    /** The words of a bash array assignment {@code NAME=(...)}, which may span lines. */
    static List<String> bashArray(String script, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "=\\(([^)]*)\\)").matcher(script);
        assertTrue(m.find(), "no " + name + "=(...) in the script");
        return words(m.group(1));
    }

    /**
     * The words between {@code .../bin/java"} and {@code -jar} of the launcher's exec command (its
     * lines joined where they end in a backslash), the launcher's variables left out: {@code
     * $archive_opts} holds the class archive flags (compared apart) and {@code $BERTH_JAVA_OPTS} is
     * the operator's to fill.
     */
    static List<String> execFlags(String script) {
        String joined = script.replace("\\\n", " ");
        Matcher m = Pattern.compile("(?m)^exec \"[^\"]*/bin/java\"(.*?) -jar ").matcher(joined);
        assertTrue(m.find(), "no exec .../bin/java ... -jar line in the launcher");
        List<String> flags = words(m.group(1));
        assertEquals(List.of("$archive_opts", "$BERTH_JAVA_OPTS"), flags.stream().filter(f -> f.startsWith("$")).toList(),
                "the launcher's variables changed: say here how they relate to BerthDaemon");
        return flags.stream().filter(f -> !f.startsWith("$")).toList();
    }

    static List<String> words(String s) {
        return Arrays.stream(s.strip().split("\\s+")).filter(w -> !w.isEmpty())
                .map(w -> w.replaceAll("^\"|\"$", "")).toList();
    }

    /** Fails naming each flag that one list has and the other lacks (order aside). */
    static void assertSameFlags(List<String> expected, String expectedFrom, List<String> actual, String actualFrom) {
        List<String> problems = new ArrayList<>();
        Set<String> a = new LinkedHashSet<>(actual);
        Set<String> e = new LinkedHashSet<>(expected);
        for (String f : e) {
            if (!a.contains(f)) {
                problems.add(actualFrom + " lacks " + f + " (in " + expectedFrom + ")");
            }
        }
        for (String f : a) {
            if (!e.contains(f)) {
                problems.add(actualFrom + " has " + f + ", " + expectedFrom + " does not");
            }
        }
        if (a.size() != actual.size()) {
            problems.add(actualFrom + " repeats a flag: " + actual);
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
    }

    /** An archive flag with its file left out: {@code -XX:SharedArchiveFile=} whatever the path. */
    static List<String> withoutArchivePath(List<String> flags) {
        return flags.stream().map(f -> f.startsWith(ARCHIVE_FILE) ? ARCHIVE_FILE : f).toList();
    }

    @Test
    void theLaunchersStartTheDaemonWithBerthDaemonsFlags() throws IOException {
        Path root = repoRoot();
        String dev = Files.readString(root.resolve(DEV_LAUNCHER));
        String pkg = Files.readString(root.resolve(PACKAGE_LAUNCHER));
        assertSameFlags(BerthDaemon.JVM_FLAGS, "BerthDaemon.JVM_FLAGS", bashArray(dev, "JVM_FLAGS"),
                "./berth JVM_FLAGS");
        assertSameFlags(BerthDaemon.JVM_FLAGS, "BerthDaemon.JVM_FLAGS", execFlags(pkg), PACKAGE_LAUNCHER);
    }

    /** The class archive flags too, but for the archive's file, which each launcher keeps in its own place. */
    @Test
    void theLaunchersClassArchiveFlagsAgreeButForTheFile() throws IOException {
        Path root = repoRoot();
        List<String> expected = withoutArchivePath(BerthDaemon.classArchiveFlags(Path.of("/any/daemon.jsa")));
        assertSameFlags(expected, "BerthDaemon.classArchiveFlags",
                withoutArchivePath(bashArray(Files.readString(root.resolve(DEV_LAUNCHER)), "ARCHIVE_FLAGS")),
                "./berth ARCHIVE_FLAGS");
        Matcher m = Pattern.compile("(?m)^\\s*archive_opts=\"([^\"]*)\"")
                .matcher(Files.readString(root.resolve(PACKAGE_LAUNCHER)));
        assertTrue(m.find(), "no archive_opts=\"...\" in " + PACKAGE_LAUNCHER);
        assertSameFlags(expected, "BerthDaemon.classArchiveFlags", withoutArchivePath(words(m.group(1))),
                PACKAGE_LAUNCHER + " archive_opts");
    }

    /** The comparison itself: a flag changed in one place is named. */
    @Test
    void aDifferingFlagIsNamed() {
        String script = "x=1\nJVM_FLAGS=(-XX:+UseSerialGC -Xmx64m\n  -Xms12m)\n";
        AssertionError e = assertThrows(AssertionError.class, () -> assertSameFlags(
                List.of("-XX:+UseSerialGC", "-Xmx96m", "-Xms12m"), "BerthDaemon.JVM_FLAGS",
                bashArray(script, "JVM_FLAGS"), "./berth JVM_FLAGS"));
        assertEquals("./berth JVM_FLAGS lacks -Xmx96m (in BerthDaemon.JVM_FLAGS)\n"
                + "./berth JVM_FLAGS has -Xmx64m, BerthDaemon.JVM_FLAGS does not", e.getMessage());
        String launcher = "exec \"$lib/runtime/bin/java\" -XX:+UseSerialGC \\\n    -Xms12m $archive_opts \\\n"
                + "    $BERTH_JAVA_OPTS -jar \"$lib/app/quarkus-run.jar\" \"$@\"\n";
        assertEquals(List.of("-XX:+UseSerialGC", "-Xms12m"), execFlags(launcher));
    }
}
