package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.SecurityProfile;

/**
 * Seccomp profiles for linux.seccomp. RuntimeDefault reads the containers-common profile
 * (/usr/share/containers/seccomp.json, Docker's format: rules conditional on capabilities,
 * architectures and kernel version) and keeps the rules that apply to this container; Localhost
 * reads the given file the same way; Unconfined (or nothing asked) means no filter.
 *
 * <p>A Localhost profile is a host file named by the request, so it is read with care: the path
 * must be absolute and normal (no "." or ".." parts), and, with its symbolic links resolved, a
 * regular file of at most {@link #MAX_PROFILE_BYTES} outside /proc, /sys and /dev (kubelet passes
 * files under its seccomp root; containerd and CRI-O accept any absolute path, berth refuses the
 * kernel's pseudo-files, whose reads can block, be endless or leak another process's data). Parsed
 * profiles are cached by file identity, size and modification time, so an edited profile is read
 * again; the cache keeps at most {@link #MAX_CACHED} profiles.
 */
public final class SeccompProfiles {
    /** Larger than any real profile (containers-common's is about 20 KiB). */
    static final int MAX_PROFILE_BYTES = 1 << 20;
    static final int MAX_CACHED = 64;
    /** What the cache may hold in file bytes (parsed trees take a few times that): 4 MiB. */
    static final long MAX_CACHED_BYTES = 4L << 20;
    private static final List<Path> PSEUDO_FILESYSTEMS = List.of(Path.of("/proc"), Path.of("/sys"), Path.of("/dev"));

    /** A file as it was when parsed: a change of any of these reads it again. */
    private record Version(Path realPath, Object fileKey, long size, long modified) {}

    private record Cached(Version version, JsonNode profile) {}

    /** Most recently used last; bounded by count and by the bytes of the files it holds. */
    private static final java.util.LinkedHashMap<Path, Cached> CACHE = new java.util.LinkedHashMap<>(16, 0.75f, true);
    private static long cachedBytes;

    private SeccompProfiles() {}

    public static Optional<ObjectNode> forContainer(LinuxContainerSecurityContext sc, Path defaultProfile,
            Set<String> caps) {
        JsonNode profile;
        if (sc.hasSeccomp()) {
            SecurityProfile p = sc.getSeccomp();
            switch (p.getProfileType()) {
                case Unconfined -> {
                    return Optional.empty();
                }
                case Localhost -> profile = localhost(p.getLocalhostRef());
                default -> profile = runtimeDefault(defaultProfile);
            }
        } else {
            String old = sc.getSeccompProfilePath();
            if (old.isEmpty() || old.equals("unconfined")) {
                return Optional.empty();
            } else if (old.equals("runtime/default") || old.equals("docker/default")) {
                profile = runtimeDefault(defaultProfile);
            } else if (old.startsWith("localhost/")) {
                profile = localhost(old.substring("localhost/".length()));
            } else {
                throw BerthException.invalid("seccomp_profile_path \"%s\" is not runtime/default, unconfined or "
                        + "localhost/<path>", old);
            }
        }
        return Optional.of(convert(profile, caps, goArch(), kernel()));
    }

    private static JsonNode runtimeDefault(Path file) {
        try {
            return load(file);
        } catch (IOException | BerthException e) {
            throw BerthException.precondition("cannot read the RuntimeDefault seccomp profile %s: %s "
                    + "(seccomp.default_profile names it; Debian ships it in golang-github-containers-common)",
                    file, e.getMessage());
        }
    }

    /** A Localhost profile: NOT_FOUND when there is no such file, INVALID_ARGUMENT when it may not be read. */
    static JsonNode localhost(String ref) {
        if (ref.isEmpty() || !ref.startsWith("/") || ref.indexOf('\0') >= 0) {
            throw BerthException.invalid("seccomp Localhost profile \"%s\" must be an absolute path", ref);
        }
        Path p = Path.of(ref);
        if (!p.normalize().toString().equals(ref)) {
            throw BerthException.invalid("seccomp Localhost profile \"%s\" must be a normal path (no \".\", \"..\" "
                    + "or repeated \"/\")", ref);
        }
        if (!Files.exists(p)) {
            throw BerthException.notFound("seccomp Localhost profile %s does not exist", p);
        }
        try {
            return load(p);
        } catch (IOException e) {
            throw BerthException.invalid("cannot read seccomp Localhost profile %s: %s", p, e.getMessage());
        }
    }

    /** Reads and parses a profile, or takes it from the cache when the file has not changed. */
    private static JsonNode load(Path file) throws IOException {
        Path real = file.toRealPath();
        for (Path pseudo : PSEUDO_FILESYSTEMS) {
            if (real.startsWith(pseudo)) {
                throw BerthException.invalid("seccomp profile %s is under %s (resolved: %s); profiles are read only "
                        + "from ordinary files", file, pseudo, real);
            }
        }
        BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile()) {
            throw BerthException.invalid("seccomp profile %s is not a regular file", file);
        }
        if (a.size() > MAX_PROFILE_BYTES) {
            throw BerthException.invalid("seccomp profile %s is %d bytes, more than the %d a profile may have", file,
                    a.size(), MAX_PROFILE_BYTES);
        }
        Version v = new Version(real, a.fileKey(), a.size(), a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS));
        Cached c = cacheGet(file);
        if (c != null && c.version().equals(v)) {
            return c.profile();
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(real, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(MAX_PROFILE_BYTES + 1);
        }
        if (bytes.length > MAX_PROFILE_BYTES) {
            throw BerthException.invalid("seccomp profile %s grew beyond %d bytes while read", file, MAX_PROFILE_BYTES);
        }
        JsonNode profile;
        try {
            profile = SpecBuilder.JSON.readTree(bytes);
        } catch (IOException e) {
            throw BerthException.invalid("seccomp profile %s is not JSON: %s", file, e.getMessage().lines().findFirst().orElse(""));
        }
        if (profile == null || !profile.isObject()) {
            throw BerthException.invalid("seccomp profile %s is not a JSON object", file);
        }
        cachePut(file, new Cached(v, profile));
        return profile;
    }

    private static synchronized Cached cacheGet(Path file) {
        return CACHE.get(file);
    }

    private static synchronized void cachePut(Path file, Cached c) {
        Cached old = CACHE.put(file, c);
        cachedBytes += c.version().size() - (old == null ? 0 : old.version().size());
        var eldest = CACHE.entrySet().iterator();
        while ((CACHE.size() > MAX_CACHED || cachedBytes > MAX_CACHED_BYTES) && eldest.hasNext()) {
            cachedBytes -= eldest.next().getValue().version().size();
            eldest.remove();
        }
    }

    /** How many profiles the cache holds (tests). */
    static synchronized int cached() {
        return CACHE.size();
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
