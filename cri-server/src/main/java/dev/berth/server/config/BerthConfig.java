package dev.berth.server.config;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * berth's validated configuration. Built once at start by {@link ConfigLoader}; every value is
 * checked here so a bad one stops the daemon with a line naming the key, before anything runs.
 */
public final class BerthConfig {
    private final Path file;
    private final Map<String, String> values;

    private BerthConfig(Path file, Map<String, String> values) {
        this.file = file;
        this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    }

    static BerthConfig from(Path file, Map<String, String> values) {
        BerthConfig c = new BerthConfig(file, values);
        c.validate();
        return c;
    }

    private void validate() {
        for (String key : List.of("socket", "root", "run", "conmon", "cgroup.mount", "cni.conf_dir")) {
            absolutePath(key);
        }
        for (String key : List.of("http.port", "stream.port")) {
            int port = integer(key);
            if (port < 0 || port > 65535) {
                throw bad(key, "must be a port number 0-65535");
            }
        }
        if (integer("stream.idle_timeout_seconds") < 1) {
            throw bad("stream.idle_timeout_seconds", "must be at least 1");
        }
        if (integer("stream.max_sessions") < 1) {
            throw bad("stream.max_sessions", "must be at least 1");
        }
        if (integer("image.max_concurrent_downloads") < 1) {
            throw bad("image.max_concurrent_downloads", "must be at least 1");
        }
        if (integer("exec.max_output_bytes") < 1024) {
            throw bad("exec.max_output_bytes", "must be at least 1024");
        }
        if (integer("events.subscriber_queue") < 1) {
            throw bad("events.subscriber_queue", "must be at least 1");
        }
        if (!List.of("cgroupfs").contains(get("cgroup.driver"))) {
            throw bad("cgroup.driver", "only 'cgroupfs' is supported");
        }
        if (!List.of("ERROR", "WARN", "INFO", "DEBUG", "TRACE").contains(get("log_level").toUpperCase())) {
            throw bad("log_level", "must be one of ERROR, WARN, INFO, DEBUG, TRACE");
        }
        bool("cgroup.skip_missing_controllers");
        registriesConf();
        seccompDefaultProfile();
        cniBinDirs();
        if (!runtimes().containsKey(defaultHandler())) {
            throw bad("runtime.default_handler", "names no handler under runtimes: (have " + runtimes().keySet() + ")");
        }
        String subnet = get("cni.default_subnet");
        if (!subnet.matches("\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}")) {
            throw bad("cni.default_subnet", "must be an IPv4 CIDR such as 10.66.0.0/16");
        }
    }

    public Path file() {
        return file;
    }

    /** The raw value of a key (defaults applied); null for unknown keys. */
    public String get(String key) {
        return values.get(key);
    }

    public Map<String, String> asMap() {
        return values;
    }

    public Path socket() {
        return absolutePath("socket");
    }

    public Path root() {
        return absolutePath("root");
    }

    public Path run() {
        return absolutePath("run");
    }

    public String httpHost() {
        return get("http.host");
    }

    public int httpPort() {
        return integer("http.port");
    }

    public String streamHost() {
        return get("stream.host");
    }

    public int streamPort() {
        return integer("stream.port");
    }

    public java.time.Duration streamIdleTimeout() {
        return java.time.Duration.ofSeconds(integer("stream.idle_timeout_seconds"));
    }

    public int streamMaxSessions() {
        return integer("stream.max_sessions");
    }

    public String logLevel() {
        return get("log_level").toUpperCase();
    }

    public String defaultHandler() {
        return get("runtime.default_handler");
    }

    /** RuntimeClass handler name to OCI runtime binary. */
    public Map<String, Path> runtimes() {
        Map<String, Path> out = new LinkedHashMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith(ConfigKeys.RUNTIMES_PREFIX)) {
                out.put(k.substring(ConfigKeys.RUNTIMES_PREFIX.length()), path(k));
            }
        });
        return out;
    }

    public Path conmon() {
        return absolutePath("conmon");
    }

    public String cgroupDriver() {
        return get("cgroup.driver");
    }

    public Path cgroupMount() {
        return absolutePath("cgroup.mount");
    }

    public boolean skipMissingControllers() {
        return bool("cgroup.skip_missing_controllers");
    }

    public Path registriesConf() {
        return path("image.registries_conf");
    }

    public int maxConcurrentDownloads() {
        return integer("image.max_concurrent_downloads");
    }

    public Path cniConfDir() {
        return absolutePath("cni.conf_dir");
    }

    public List<Path> cniBinDirs() {
        return list("cni.bin_dirs").stream().map(d -> path("cni.bin_dirs", d)).toList();
    }

    public String cniDefaultSubnet() {
        return get("cni.default_subnet");
    }

    public String cniBridge() {
        return get("cni.bridge");
    }

    public Path seccompDefaultProfile() {
        return path("seccomp.default_profile");
    }

    public int eventsSubscriberQueue() {
        return integer("events.subscriber_queue");
    }

    public int execMaxOutputBytes() {
        return integer("exec.max_output_bytes");
    }

    public int integer(String key) {
        try {
            return Integer.parseInt(get(key).trim());
        } catch (NumberFormatException e) {
            throw bad(key, "must be a whole number, got '" + get(key) + "'");
        }
    }

    public boolean bool(String key) {
        String v = get(key).trim().toLowerCase();
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw bad(key, "must be true or false, got '" + get(key) + "'");
        };
    }

    public List<String> list(String key) {
        return Arrays.stream(get(key).split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private Path path(String key) {
        return path(key, get(key));
    }

    /** A path from the config; one the OS cannot name (a NUL byte) is the key's error, not a stack trace. */
    private Path path(String key, String value) {
        try {
            return Path.of(value);
        } catch (java.nio.file.InvalidPathException e) {
            throw bad(key, "is not a usable path: " + e.getReason());
        }
    }

    private Path absolutePath(String key) {
        Path p = path(key);
        if (!p.isAbsolute()) {
            throw bad(key, "must be an absolute path, got '" + get(key) + "'");
        }
        return p;
    }

    private ConfigException bad(String key, String what) {
        ConfigKeys.Key k = ConfigKeys.find(key);
        String env = k == null ? "" : " (or env " + k.envName() + ")";
        // Values are quoted in the message: control characters are shown escaped, so it stays one line.
        StringBuilder shown = new StringBuilder();
        what.codePoints().forEach(c -> shown.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", c)
                : new String(Character.toChars(c))));
        return new ConfigException("config " + file + ": key '" + key + "'" + env + " " + shown);
    }
}
