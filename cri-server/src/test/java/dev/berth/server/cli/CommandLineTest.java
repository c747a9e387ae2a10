package dev.berth.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.server.config.ConfigKeys;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandLineTest {
    @TempDir
    Path dir;

    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(Map<String, String> env, String... args) {
        return CommandLine.run(CommandLine.parse(args), env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void argumentsMapToCommands() {
        assertInstanceOf(CommandLine.Serve.class, CommandLine.parse());
        assertInstanceOf(CommandLine.Help.class, CommandLine.parse("--help"));
        assertInstanceOf(CommandLine.Help.class, CommandLine.parse("-h"));
        assertInstanceOf(CommandLine.Version.class, CommandLine.parse("--version"));
        assertInstanceOf(CommandLine.ConfigDefault.class, CommandLine.parse("config", "default"));
        assertEquals(new CommandLine.ConfigCheck(Optional.empty()), CommandLine.parse("config", "check"));
        assertEquals(new CommandLine.ConfigCheck(Optional.of(Path.of("/x.yaml"))),
                CommandLine.parse("config", "check", "/x.yaml"));
        for (String[] bad : new String[][] {{"--bogus"}, {"serve"}, {"config"}, {"config", "edit"},
                {"config", "check", "a", "b"}, {"--help", "x"}, {"config", "check", "--strict"}}) {
            assertInstanceOf(CommandLine.Usage.class, CommandLine.parse(bad), String.join(" ", bad));
        }
    }

    @Test
    void helpAndVersionPrintToStdout() {
        assertEquals(0, run(Map.of(), "--help"));
        assertTrue(out().contains("usage: berth") && out().contains("config check"), out());
        out.reset();
        assertEquals(0, run(Map.of(), "--version"));
        assertTrue(out().matches("berth \\S+\\n"), out());
        assertEquals("", err());
    }

    @Test
    void unknownOptionPrintsUsageToStderrWithStatus2() {
        assertEquals(2, run(Map.of(), "--bogus"));
        assertTrue(err().startsWith("berth: unknown option --bogus\nusage: berth"), err());
        assertEquals("", out());
    }

    @Test
    void theDefaultFileDocumentsEveryKeyAndPassesTheCheck() throws Exception {
        assertEquals(0, run(Map.of(), "config", "default"));
        String text = out();
        for (ConfigKeys.Key k : ConfigKeys.ALL) {
            String leaf = k.name().substring(k.name().indexOf('.') + 1);
            assertTrue(text.contains(leaf + ": ") && text.contains(k.envName()), k.name());
        }
        Path f = dir.resolve("config.yaml");
        Files.writeString(f, text);
        out.reset();
        assertEquals(0, run(Map.of(), "config", "check", f.toString()));
        assertEquals(f + ": ok\n", out());
    }

    @Test
    void checkListsEveryErrorWithItsKeyAndExits2() throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, "root: relative/dir\nhttp:\n  port: 70000\ncolour: blue\nlog_level: LOUD\n");
        assertEquals(2, run(Map.of("BERTH_ROOT", "/ignored/for/a/named/file"), "config", "check", f.toString()));
        String e = err();
        for (String key : new String[] {"'root'", "'http.port'", "'colour'", "'log_level'"}) {
            assertTrue(e.contains(key), key + " missing in: " + e);
        }
        assertEquals(4, e.lines().count(), e);
        assertTrue(e.lines().allMatch(l -> l.startsWith("berth: ")), e);
        assertEquals(2, run(Map.of(), "config", "check", dir.resolve("none.yaml").toString()));
        assertTrue(err().contains("does not exist"), err());
    }

    @Test
    void checkWithoutAFileReadsWhatTheDaemonWould() throws Exception {
        Path f = dir.resolve("c.yaml");
        Files.writeString(f, "socket: /tmp/x.sock\n");
        assertEquals(0, run(Map.of("BERTH_CONFIG", f.toString()), "config", "check"));
        assertEquals(2, run(Map.of("BERTH_CONFIG", f.toString(), "BERTH_STREAM_PORT", "-1"), "config", "check"));
        assertTrue(err().contains("stream.port") && err().contains("BERTH_STREAM_PORT"), err());
    }
}
