package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.SecurityProfile;

/**
 * Seccomp profiles for linux.seccomp. RuntimeDefault reads the containers-common profile
 * (/usr/share/containers/seccomp.json, Docker's format: rules conditional on capabilities,
 * architectures and kernel version) and keeps the rules that apply to this container; Localhost
 * reads the given file the same way; Unconfined (or nothing asked) means no filter.
 */
public final class SeccompProfiles {
    private static final Map<Path, JsonNode> CACHE = new ConcurrentHashMap<>();

    private SeccompProfiles() {}

    public static Optional<ObjectNode> forContainer(LinuxContainerSecurityContext sc, Path defaultProfile,
            Set<String> caps) {
        Path file;
        if (sc.hasSeccomp()) {
            SecurityProfile p = sc.getSeccomp();
            switch (p.getProfileType()) {
                case Unconfined -> {
                    return Optional.empty();
                }
                case Localhost -> file = localhost(p.getLocalhostRef());
                default -> file = defaultProfile;
            }
        } else {
            String old = sc.getSeccompProfilePath();
            if (old.isEmpty() || old.equals("unconfined")) {
                return Optional.empty();
            } else if (old.equals("runtime/default") || old.equals("docker/default")) {
                file = defaultProfile;
            } else if (old.startsWith("localhost/")) {
                file = localhost(old.substring("localhost/".length()));
            } else {
                throw BerthException.invalid("seccomp_profile_path \"%s\" is not runtime/default, unconfined or "
                        + "localhost/<path>", old);
            }
        }
        JsonNode profile = CACHE.computeIfAbsent(file, SeccompProfiles::load);
        return Optional.of(convert(profile, caps, goArch(), kernel()));
    }

    private static Path localhost(String ref) {
        if (ref.isEmpty() || !ref.startsWith("/")) {
            throw BerthException.invalid("seccomp Localhost profile \"%s\" must be an absolute path", ref);
        }
        Path p = Path.of(ref);
        if (!Files.isRegularFile(p)) {
            throw BerthException.notFound("seccomp profile %s does not exist", p);
        }
        return p;
    }

    private static JsonNode load(Path file) {
        try {
            return SpecBuilder.JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw BerthException.precondition("cannot read seccomp profile %s: %s (seccomp.default_profile "
                    + "names the RuntimeDefault one; Debian ships it in golang-github-containers-common)",
                    file, e.getMessage());
        }
    }

    /** Keeps the rules whose includes/excludes match this container's caps, arch and kernel. */
    static ObjectNode convert(JsonNode in, Set<String> caps, String arch, int[] kernel) {
        ObjectNode out = SpecBuilder.JSON.createObjectNode();
        out.put("defaultAction", in.path("defaultAction").asText("SCMP_ACT_ERRNO"));
        if (in.has("defaultErrnoRet")) {
            out.put("defaultErrnoRet", in.get("defaultErrnoRet").asInt());
        }
        ArrayNode arches = out.putArray("architectures");
        if (in.has("architectures")) {
            in.get("architectures").forEach(arches::add);
        } else {
            String native_ = "amd64".equals(arch) ? "SCMP_ARCH_X86_64" : "arm64".equals(arch) ? "SCMP_ARCH_AARCH64" : null;
            for (JsonNode m : in.path("archMap")) {
                if (m.path("architecture").asText().equals(native_)) {
                    arches.add(native_);
                    m.path("subArchitectures").forEach(arches::add);
                }
            }
        }
        ArrayNode rules = out.putArray("syscalls");
        for (JsonNode s : in.path("syscalls")) {
            if (!applies(s.path("includes"), s.path("excludes"), caps, arch, kernel)) {
                continue;
            }
            ObjectNode r = rules.addObject();
            r.set("names", s.path("names"));
            r.put("action", s.path("action").asText());
            if (s.has("errnoRet")) {
                r.put("errnoRet", s.get("errnoRet").asInt());
            }
            JsonNode args = s.path("args");
            if (args.isArray() && !args.isEmpty()) {
                r.set("args", args);
            }
        }
        return out;
    }

    private static boolean applies(JsonNode inc, JsonNode exc, Set<String> caps, String arch, int[] kernel) {
        for (JsonNode c : inc.path("caps")) {
            if (!caps.contains(c.asText())) {
                return false;
            }
        }
        if (inc.path("arches").isArray() && !inc.path("arches").isEmpty() && !contains(inc.path("arches"), arch)) {
            return false;
        }
        if (inc.hasNonNull("minKernel") && !atLeast(kernel, inc.get("minKernel").asText())) {
            return false;
        }
        for (JsonNode c : exc.path("caps")) {
            if (caps.contains(c.asText())) {
                return false;
            }
        }
        return !contains(exc.path("arches"), arch);
    }

    private static boolean contains(JsonNode arr, String v) {
        for (JsonNode n : arr) {
            if (n.asText().equals(v)) {
                return true;
            }
        }
        return false;
    }

    private static boolean atLeast(int[] kernel, String min) {
        String[] p = min.split("\\.");
        int maj = Integer.parseInt(p[0]);
        int mi = p.length > 1 ? Integer.parseInt(p[1].replaceAll("\\D.*", "")) : 0;
        return kernel[0] > maj || (kernel[0] == maj && kernel[1] >= mi);
    }

    static String goArch() {
        String a = System.getProperty("os.arch");
        return switch (a) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> a;
        };
    }

    static int[] kernel() {
        String[] p = System.getProperty("os.version").split("[.-]");
        try {
            return new int[] {Integer.parseInt(p[0]), p.length > 1 ? Integer.parseInt(p[1]) : 0};
        } catch (NumberFormatException e) {
            return new int[] {0, 0};
        }
    }

}
