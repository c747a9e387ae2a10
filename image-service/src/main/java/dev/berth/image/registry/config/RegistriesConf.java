package dev.berth.image.registry.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.image.ref.ImageReference;
import dev.berth.image.registry.RegistryEndpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Registry rules in the containers {@code registries.conf} v2 format (the subset a node needs):
 *
 * <pre>
 * [[registry]]
 * prefix = "docker.io"          # optional, defaults to location; "*.example.com" matches subdomains
 * location = "docker.io"        # where the prefix is rewritten to
 * insecure = false              # plain HTTP
 * blocked = false               # refuse pulls
 * mirror-by-digest-only = false
 * [[registry.mirror]]
 * location = "127.0.0.1:5000/hub"
 * insecure = true
 * pull-from-mirror = "all"      # or "digest-only", "tag-only"
 * </pre>
 *
 * The longest matching prefix wins. Sources are tried in order: mirrors, then the location;
 * a failed mirror falls through to the next source. Registries on loopback addresses are plain
 * HTTP unless a rule says otherwise.
 */
public final class RegistriesConf {
    public record Mirror(String location, boolean insecure, String pullFromMirror) {}

    public record Registry(String prefix, String location, boolean insecure, boolean blocked, boolean mirrorByDigestOnly,
            List<Mirror> mirrors) {}

    public static final RegistriesConf EMPTY = new RegistriesConf(List.of(), "(none)");

    private final List<Registry> registries;
    private final String source;

    public RegistriesConf(List<Registry> registries, String source) {
        this.registries = List.copyOf(registries);
        this.source = source;
    }

    public List<Registry> registries() {
        return registries;
    }

    /** Loads {@code file}; a missing file means no rules. A malformed file is an error (a node misconfiguration). */
    public static RegistriesConf load(Path file) {
        if (file == null || !Files.exists(file)) {
            return EMPTY;
        }
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw BerthException.precondition("cannot read registries config %s: %s", file, e.getMessage());
        }
    }

    public static RegistriesConf parse(String toml, String source) {
        JsonNode root;
        try {
            root = new TomlMapper().readTree(toml);
        } catch (IOException e) {
            throw BerthException.precondition("registries config %s is not valid TOML: %s", source, e.getMessage());
        }
        List<Registry> out = new ArrayList<>();
        JsonNode regs = root.path("registry");
        if (!regs.isMissingNode() && !regs.isArray()) {
            throw BerthException.precondition("registries config %s: \"registry\" must be an array of tables ([[registry]])",
                    source);
        }
        for (JsonNode r : regs) {
            String location = r.path("location").asText("");
            String prefix = r.path("prefix").asText("");
            if (prefix.isEmpty()) {
                prefix = location;
            }
            if (prefix.isEmpty()) {
                throw BerthException.precondition("registries config %s: a [[registry]] has neither location nor prefix",
                        source);
            }
            if (prefix.startsWith("*.") && !location.isEmpty()) {
                throw BerthException.precondition("registries config %s: wildcard prefix %s cannot have a location",
                        source, prefix);
            }
            if (!location.isEmpty()) {
                checkLocation(source, "the location of " + prefix, location);
            }
            if (!prefix.startsWith("*.")) {
                checkLocation(source, "prefix", prefix);
            }
            List<Mirror> mirrors = new ArrayList<>();
            for (JsonNode m : r.path("mirror")) {
                String ml = m.path("location").asText("");
                if (ml.isEmpty()) {
                    throw BerthException.precondition("registries config %s: a mirror of %s has no location", source, prefix);
                }
                checkLocation(source, "a mirror of " + prefix, ml);
                mirrors.add(new Mirror(strip(ml), m.path("insecure").asBoolean(false),
                        m.path("pull-from-mirror").asText("all")));
            }
            out.add(new Registry(strip(prefix), strip(location), r.path("insecure").asBoolean(false),
                    r.path("blocked").asBoolean(false), r.path("mirror-by-digest-only").asBoolean(false), mirrors));
        }
        return new RegistriesConf(out, source);
    }

    /** host[:port][/path], as an image name starts: no scheme, no spaces, a port that exists. */
    private static final java.util.regex.Pattern LOCATION = java.util.regex.Pattern.compile(
            "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                    + "|\\[[0-9a-fA-F:.]+\\])(?::([0-9]{1,5}))?"
                    + "(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");

    /** Refuses a location berth could not turn into a registry URL (it would fail every pull it applies to). */
    private static void checkLocation(String source, String what, String raw) {
        String l = strip(raw);
        java.util.regex.Matcher m = LOCATION.matcher(l);
        if (!m.matches() || m.group(1) != null && Integer.parseInt(m.group(1)) > 65535) {
            throw BerthException.precondition("registries config %s: %s is \"%s\", which is not host[:port][/path] (no "
                    + "scheme: mark plain-HTTP registries with insecure = true)", source, what,
                    raw.length() > 100 ? raw.substring(0, 100) + "..." : raw);
        }
        // Pulls address the registry through java.net.URI, which (RFC 2396) takes a name whose last
        // label starts with a digit ("host.9x") for no host at all: refuse it here, not at every pull.
        int slash = l.indexOf('/');
        String authority = slash < 0 ? l : l.substring(0, slash);
        if (java.net.URI.create("https://" + authority + "/").getHost() == null) {
            throw BerthException.precondition("registries config %s: %s is \"%s\", whose host is not a valid host name "
                    + "(the last label must start with a letter)", source, what, raw);
        }
    }

    private static String strip(String s) {
        String t = s.trim();
        while (t.endsWith("/")) {
            t = t.substring(0, t.length() - 1);
        }
        return t;
    }

    /**
     * Where to pull {@code ref} from, in order. Throws PERMISSION_DENIED when the matching rule
     * blocks it.
     */
    public List<RegistryEndpoint> sourcesFor(ImageReference ref) {
        String name = ref.name();
        Registry rule = null;
        int best = -1;
        for (Registry r : registries) {
            int len = matchLength(r.prefix(), ref);
            if (len > best) {
                best = len;
                rule = r;
            }
        }
        if (rule == null) {
            return List.of(endpoint(name, false, false));
        }
        if (rule.blocked()) {
            throw new BerthException(ErrorKind.PERMISSION_DENIED, "pulling " + ref + " is blocked by the registry rule for "
                    + rule.prefix() + " in " + source);
        }
        String remainder = rule.prefix().startsWith("*.") ? null : name.substring(rule.prefix().length());
        List<RegistryEndpoint> out = new ArrayList<>();
        for (Mirror m : rule.mirrors()) {
            boolean digestOnly = rule.mirrorByDigestOnly() || m.pullFromMirror().equals("digest-only");
            if (digestOnly && !ref.hasDigest() || m.pullFromMirror().equals("tag-only") && ref.hasDigest()) {
                continue;
            }
            String mirrored = remainder == null ? m.location() + "/" + ref.path() : m.location() + remainder;
            out.add(endpoint(mirrored, m.insecure(), true));
        }
        String primary = rule.location().isEmpty() || remainder == null ? name : rule.location() + remainder;
        out.add(endpoint(primary, rule.insecure(), false));
        return out;
    }

    /** Length of the matched prefix, or -1. A prefix matches whole path components only. */
    private static int matchLength(String prefix, ImageReference ref) {
        String name = ref.name();
        if (prefix.startsWith("*.")) {
            String suffix = prefix.substring(1);
            return ref.domain().endsWith(suffix) ? prefix.length() : -1;
        }
        if (name.equals(prefix) || name.startsWith(prefix + "/")) {
            return prefix.length();
        }
        return -1;
    }

    private static RegistryEndpoint endpoint(String name, boolean insecure, boolean mirror) {
        int slash = name.indexOf('/');
        String host = slash < 0 ? name : name.substring(0, slash);
        String repo = slash < 0 ? "" : name.substring(slash + 1);
        return new RegistryEndpoint(host, repo, insecure || RegistryEndpoint.isLoopback(host), mirror);
    }
}
