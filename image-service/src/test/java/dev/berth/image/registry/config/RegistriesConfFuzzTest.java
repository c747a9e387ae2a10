package dev.berth.image.registry.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.ref.ImageReference;
import dev.berth.image.registry.RegistryEndpoint;
import dev.berth.core.testing.Fuzz;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the registries.conf parser with generated and mutated TOML. Properties: a file either
 * parses or fails with FAILED_PRECONDITION naming the file (never a parser's or a JDK exception);
 * and every configuration that parses yields, for any image, sources whose registry URLs are
 * well-formed (or PERMISSION_DENIED for a blocked one): a bad location fails at load, not as an
 * INTERNAL error at the first pull.
 */
class RegistriesConfFuzzTest {
    private static final String SOURCE = "/etc/berth/fuzz-registries.conf";
    private static final List<String> IMAGES = List.of("busybox", "docker.io/library/busybox:1.36",
            "example.com/team/app@sha256:" + "a".repeat(64), "a.corp.test/x/y:1", "127.0.0.1:5000/z", "quay.io/q/r");

    @Test
    void generatedConfigsParseOrNameTheirProblem() {
        int n = Fuzz.run("generated registries.conf", 3000, Duration.ofSeconds(15), r -> check(generate(r)));
        assertTrue(n > 100, "too few cases ran: " + n);
    }

    @Test
    void mutatedConfigsParseOrNameTheirProblem() {
        int n = Fuzz.run("mutated registries.conf", 3000, Duration.ofSeconds(15), r -> check(mutate(r, generate(r))));
        assertTrue(n > 100, "too few cases ran: " + n);
    }

    private static void check(String toml) {
        RegistriesConf conf;
        try {
            conf = RegistriesConf.parse(toml, SOURCE);
        } catch (BerthException e) {
            assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains(SOURCE), () -> "the error names the file: " + e.getMessage());
            return;
        }
        for (String image : IMAGES) {
            ImageReference ref = ImageReference.parse(image);
            List<RegistryEndpoint> sources;
            try {
                sources = conf.sourcesFor(ref);
            } catch (BerthException e) {
                assertEquals(ErrorKind.PERMISSION_DENIED, e.kind(), e.getMessage());
                assertTrue(e.getMessage().contains("blocked"), e.getMessage());
                continue;
            }
            assertFalse(sources.isEmpty(), "no source for " + image + " in\n" + toml);
            for (RegistryEndpoint ep : sources) {
                // What RegistryCaller builds for every request: must be a URI with a host, for every source.
                URI uri = URI.create(ep.baseUrl() + "/v2/" + ep.repository() + "/manifests/latest");
                assertTrue(uri.getHost() != null && !ep.repository().isEmpty(),
                        () -> "source " + ep + " of " + image + " is not a registry URL (" + uri + ") from\n" + toml);
            }
        }
    }

    private static String location(SplittableRandom r) {
        return switch (r.nextInt(8)) {
            case 0 -> Fuzz.pick(r, "", "/", "///", "http://mirror.local", "mirror.local:5000/hub/", "[::1]:5000",
                    "host name", "a/b/../c", "*.corp.test", "mirror.local:99999", "ex ample.com", "\u00e9.test",
                    "docker.io", "127.0.0.1:5000", "localhost:5000/x", "host:port", "a?b#c", ":5000");
            case 1 -> Fuzz.anyString(r, 20);
            default -> Fuzz.letters(r, 1, 8) + "." + Fuzz.pick(r, "io", "com", "test") + (r.nextBoolean() ? ""
                    : "/" + Fuzz.letters(r, 1, 5));
        };
    }

    private static String value(SplittableRandom r) {
        return switch (r.nextInt(6)) {
            case 0 -> Fuzz.pick(r, "true", "false", "1", "[]", "{}", "\"all\"", "\"digest-only\"", "\"tag-only\"");
            default -> "\"" + location(r).replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        };
    }

    private static String generate(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        if (r.nextBoolean()) {
            sb.append("unqualified-search-registries = [\"docker.io\"]\n");
        }
        int regs = r.nextInt(4);
        for (int i = 0; i < regs; i++) {
            sb.append(Fuzz.pick(r, "[[registry]]\n", "[[registry]]\n", "[[registry]]\n", "[registry]\n", "registry = 5\n"));
            for (String key : List.of("prefix", "location", "insecure", "blocked", "mirror-by-digest-only")) {
                if (key.equals("prefix") && r.nextBoolean()) {
                    // a prefix that matches one of the images, so that its rule and mirrors are used
                    sb.append("prefix = \"").append(Fuzz.pick(r, "docker.io", "example.com/team", "*.corp.test",
                            "127.0.0.1:5000", "quay.io", "docker.io/library")).append("\"\n");
                } else if (r.nextInt(3) > 0) {
                    sb.append(key).append(" = ").append(value(r)).append('\n');
                }
            }
            int mirrors = r.nextInt(3);
            for (int m = 0; m < mirrors; m++) {
                sb.append(Fuzz.pick(r, "[[registry.mirror]]\n", "[[registry.mirror]]\n", "[registry.mirror]\n"));
                for (String key : List.of("location", "insecure", "pull-from-mirror")) {
                    if (r.nextInt(3) > 0) {
                        sb.append(key).append(" = ").append(value(r)).append('\n');
                    }
                }
            }
        }
        return sb.toString();
    }

    private static String mutate(SplittableRandom r, String toml) {
        List<String> lines = new ArrayList<>(List.of(toml.split("\n", -1)));
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n; i++) {
            int at = r.nextInt(lines.size());
            switch (r.nextInt(4)) {
                case 0 -> lines.remove(at);
                case 1 -> lines.add(at, Fuzz.anyString(r, 30));
                case 2 -> lines.add(at, lines.get(at)); // duplicate keys and tables
                default -> {
                    String l = lines.get(at);
                    if (!l.isEmpty()) {
                        int c = r.nextInt(l.length());
                        lines.set(at, l.substring(0, c) + (char) (32 + r.nextInt(95)) + l.substring(c + 1));
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
