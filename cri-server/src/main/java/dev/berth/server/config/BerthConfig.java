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
        return from(file, values, List.of());
    }

    /** Validates every key; throws one ConfigException listing {@code earlier} and every bad value. */
    static BerthConfig from(Path file, Map<String, String> values, List<String> earlier) {
        BerthConfig c = new BerthConfig(file, values);
        List<String> problems = new java.util.ArrayList<>(earlier);
        for (Runnable check : c.checks()) {
            try {
                check.run();
            } catch (ConfigException e) {
                problems.addAll(e.problems());
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return c;
    }

    /** One check per key, so a bad key does not hide the next one's problem. */
    private List<Runnable> checks() {
        List<Runnable> checks = new java.util.ArrayList<>();
        for (String key : List.of("socket", "root", "run", "conmon", "cgroup.mount", "cni.conf_dir")) {
            checks.add(() -> absolutePath(key));
        }
        for (String key : List.of("http.port", "stream.port")) {
            checks.add(() -> {
                int port = integer(key);
                if (port < 0 || port > 65535) {
                    throw bad(key, "must be a port number 0-65535");
                }
            });
        }
        for (String key : List.of("stream.idle_timeout_seconds", "stream.max_sessions",
                "image.max_concurrent_downloads", "events.subscriber_queue")) {
            checks.add(() -> {
                if (integer(key) < 1) {
                    throw bad(key, "must be at least 1");
                }
            });
        }
        checks.add(() -> {
            if (integer("exec.max_output_bytes") < 1024) {
                throw bad("exec.max_output_bytes", "must be at least 1024");
            }
        });
        checks.add(() -> {
            if (!List.of("cgroupfs").contains(get("cgroup.driver"))) {
                throw bad("cgroup.driver", "only 'cgroupfs' is supported");
            }
        });
        checks.add(() -> {
            if (!List.of("ERROR", "WARN", "INFO", "DEBUG", "TRACE").contains(get("log_level").toUpperCase())) {
                throw bad("log_level", "must be one of ERROR, WARN, INFO, DEBUG, TRACE");
            }
        });
        checks.add(() -> {
            if (!List.of("text", "json").contains(logFormat())) {
                throw bad("log_format", "must be text or json, got '" + get("log_format") + "'");
            }
        });
        checks.add(() -> bool("cgroup.skip_missing_controllers"));
        checks.add(this::registriesConf);
        checks.add(this::seccompDefaultProfile);
        checks.add(this::cniBinDirs);
        checks.add(() -> {
            if (!runtimes().containsKey(defaultHandler())) {
                throw bad("runtime.default_handler", "names no handler under runtimes: (have "
                        + runtimes().keySet() + ")");
            }
        });
        checks.add(() -> {
            if (!get("cni.default_subnet").matches("\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}")) {
                throw bad("cni.default_subnet", "must be an IPv4 CIDR such as 10.66.0.0/16");
            }
        });
        return checks;
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

    /** "text" or "json". */
    public String logFormat() {
        return get("log_format").trim().toLowerCase();
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
