package dev.berth.server.config;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.berth.core.testing.Fuzz;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes berth's configuration: generated and mutated YAML files (known and unknown keys, wrong
 * types, nesting, aliases, NUL bytes, huge numbers) and BERTH_* variables. Properties: loading
 * either gives a configuration whose every accessor answers, or throws {@link ConfigException}
 * naming the file or the key (a line an operator can act on per problem); never a parser's or the JDK's
 * exception.
 */
class ConfigFuzzTest {
    @TempDir
    Path dir;

    @Test
    void generatedConfigsLoadOrNameTheKey() {
        int n = Fuzz.run("generated config.yaml", 2000, Duration.ofSeconds(15), r -> check(generate(r), env(r)));
        assertTrue(n > 100, "too few cases ran: " + n);
    }

    @Test
    void mutatedConfigsLoadOrNameTheKey() {
        int n = Fuzz.run("mutated config.yaml", 2000, Duration.ofSeconds(15), r -> check(mutate(r, generate(r)), Map.of()));
        assertTrue(n > 100, "too few cases ran: " + n);
    }

    private void check(String yaml, Map<String, String> env) throws Exception {
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, yaml);
        BerthConfig c;
        try {
            c = ConfigLoader.load(file, true, env);
        } catch (ConfigException e) {
            assertTrue(e.getMessage().contains(file.toString()) || e.getMessage().contains("key '"),
                    () -> "the error names the file or key: " + e.getMessage());
            // every problem on a line of its own (config check lists them all), each naming file or key
            for (String line : e.getMessage().split("\n")) {
                assertTrue(line.contains(file.toString()) || line.contains("key '"),
                        () -> "each line names the file or key: " + e.getMessage());
            }
            return;
        } catch (RuntimeException e) {
            fail("unexpected " + e + " loading\n" + yaml + "\nwith " + env, e);
            return;
        }
        // Everything the daemon reads at start must answer, or have failed the load above.
        for (Method m : BerthConfig.class.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers()) && !Modifier.isStatic(m.getModifiers()) && m.getParameterCount() == 0) {
                try {
                    m.invoke(c);
                } catch (InvocationTargetException e) {
                    fail(m.getName() + "() of a configuration that loaded threw " + e.getCause() + "; from\n" + yaml
                            + "\nwith " + env, e.getCause());
                }
            }
        }
    }

    private static final List<String> KEYS = ConfigKeys.ALL.stream().map(ConfigKeys.Key::name).toList();

    private static String scalar(SplittableRandom r) {
        return switch (r.nextInt(8)) {
            case 0 -> Fuzz.pick(r, "0", "-1", "65536", "99999999999999999999", "1e9", "0x10", "true", "no", "~", "null",
                    "\"\"", "[]", "{}", "[a, b]", "/abs/path", "rel/path", "\"/with\\0nul\"", "\"\\u0000\"", "*alias",
                    "&anchor x", "!!binary aGk=", "runc", "cgroupfs", "10.66.0.0/16", "999.1.1.1/99");
            case 1 -> "\"" + Fuzz.anyString(r, 20).replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
            case 2 -> Integer.toString(r.nextInt());
            default -> "/" + Fuzz.letters(r, 1, 10);
        };
    }

    private static String generate(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int n = r.nextInt(8);
        for (int i = 0; i < n; i++) {
            String key = r.nextInt(10) == 0 ? Fuzz.letters(r, 1, 6) + "." + Fuzz.letters(r, 1, 6)
                    : r.nextInt(6) == 0 ? "runtimes." + Fuzz.pick(r, "runc", "crun", "", "x.y", Fuzz.letters(r, 1, 5))
                    : Fuzz.pick(r, KEYS);
            int dot = key.indexOf('.');
            if (dot > 0 && r.nextBoolean()) {
                sb.append(key, 0, dot).append(":\n  ").append(key.substring(dot + 1)).append(": ").append(scalar(r)).append('\n');
            } else {
                sb.append(key).append(": ").append(scalar(r)).append('\n');
            }
        }
        if (r.nextInt(10) == 0) {
            sb.append("a: &x [1,2]\nb: [*x,*x,*x,*x]\n"); // anchors and aliases
        }
        if (r.nextInt(20) == 0) {
            sb.append("deep: ").append("[".repeat(5000)).append("]".repeat(5000)).append('\n');
        }
        return sb.toString();
    }

    private static Map<String, String> env(SplittableRandom r) {
        Map<String, String> env = new HashMap<>();
        int n = r.nextInt(3);
        for (int i = 0; i < n; i++) {
            ConfigKeys.Key k = Fuzz.pick(r, ConfigKeys.ALL);
            env.put(k.envName(), r.nextBoolean() ? k.defaultValue() : Fuzz.anyString(r, 12));
        }
        if (r.nextInt(5) == 0) {
            env.put("BERTH_RUNTIMES_" + Fuzz.letters(r, 0, 4).toUpperCase(), Fuzz.anyString(r, 12));
        }
        return env;
    }

    private static String mutate(SplittableRandom r, String yaml) {
        List<String> lines = new ArrayList<>(List.of(yaml.split("\n", -1)));
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n; i++) {
            int at = r.nextInt(lines.size());
            switch (r.nextInt(4)) {
                case 0 -> lines.remove(at);
                case 1 -> lines.add(at, Fuzz.anyString(r, 30));
                case 2 -> lines.add(at, "  " + lines.get(at)); // indentation changes nesting
                default -> {
                    String l = lines.get(at);
                    if (!l.isEmpty()) {
                        int c = r.nextInt(l.length());
                        lines.set(at, l.substring(0, c) + Fuzz.pick(r, ":", "-", " ", "\t", "'", "\"", "#", "{", "&", "*")
                                + l.substring(c + 1));
                    }
                }
            }
            if (lines.isEmpty()) {
                lines.add("");
            }
        }
        return String.join("\n", lines);
    }
}
