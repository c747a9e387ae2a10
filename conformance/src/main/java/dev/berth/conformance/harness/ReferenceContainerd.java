package dev.berth.conformance.harness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reference runtime: Debian's containerd started privately by
 * {@code shared/reference-containerd/containerd-ref.sh} (beside the repository, also in CI).
 * Tests and benchmarks speak the same CRI to it as to berth.
 */
public final class ReferenceContainerd implements AutoCloseable {
    private final Map<String, String> env;
    private final String endpoint;
    private CriClient client;

    private ReferenceContainerd(Map<String, String> env, String endpoint) {
        this.env = env;
        this.endpoint = endpoint;
    }

    public static Path script() {
        String home = System.getProperty("berth.home", "..");
        return Path.of(home).toAbsolutePath().normalize().resolveSibling("shared")
                .resolve("reference-containerd").resolve("containerd-ref.sh");
    }

    public static boolean available() {
        return Files.isRegularFile(script()) && Files.isExecutable(Path.of("/usr/bin/containerd"));
    }

    /** Starts (or reuses) the instance; env holds REF_* settings such as REF_REGISTRY. */
    public static ReferenceContainerd start(Map<String, String> refEnv) {
        Map<String, String> env = new LinkedHashMap<>(refEnv);
        Commands.Result r = runScript(env, "start");
        if (r.exitCode() != 0) {
            // The reference script's first start on a fresh root occasionally loses its freshly
            // imported pause image; a clean stop and a second start has always recovered it.
            runScript(env, "stop");
            r = runScript(env, "start");
        }
        if (r.exitCode() != 0) {
            runScript(env, "stop"); // a failed start may have left containerd running: undo it
            throw new IllegalStateException("containerd-ref start failed: " + r.output());
        }
        String[] lines = r.output().strip().split("\n");
        return new ReferenceContainerd(env, lines[lines.length - 1].trim());
    }

    /**
     * The settings of a benchmark's private instance beside berth: root and run directories of
     * this JVM's own ({@code /tmp/berth-NAME-ref-PID}), a bridge on {@code subnet} named after the
     * name's last word (an interface name holds at most 15 characters), cgroup parent
     * {@code berth-NAME-ref}, images from {@code registry}, and never an apt-get. Mutable, for
     * callers that add to it.
     */
    public static Map<String, String> benchEnv(String name, String subnet, String registry) {
        long pid = ProcessHandle.current().pid();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("REF_ROOT", "/tmp/berth-" + name + "-ref-" + pid);
        env.put("REF_RUN", "/run/berth-" + name + "-ref-" + pid);
        env.put("REF_BRIDGE", "ref" + name.substring(name.lastIndexOf('-') + 1) + "0");
        env.put("REF_SUBNET", subnet);
        env.put("REF_CGROUP_PARENT", "berth-" + name + "-ref");
        env.put("REF_REGISTRY", registry);
        env.put("REF_NO_INSTALL", "1");
        return env;
    }

    private static Commands.Result runScript(Map<String, String> env, String verb) {
        List<String> cmd = new ArrayList<>(List.of("env"));
        env.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.add("bash");
        cmd.add(script().toString());
        cmd.add(verb);
        return Commands.run(cmd);
    }

    public String endpoint() {
        return endpoint;
    }

    public synchronized CriClient client() {
        if (client == null) {
            client = CriClient.forEndpoint(endpoint);
        }
        return client;
    }

    @Override
    public void close() {
        if (client != null) {
            client.close();
        }
        runScript(env, "stop");
    }
}
