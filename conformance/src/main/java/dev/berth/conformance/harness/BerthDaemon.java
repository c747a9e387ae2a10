package dev.berth.conformance.harness;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import runtime.v1.VersionRequest;

/**
 * A real berth daemon process for end-to-end tests: the packaged quarkus-app started with its own
 * socket, state root, run root and HTTP port, inside a {@link PrivateMountNamespace}. It can be
 * stopped with SIGTERM, killed with SIGKILL and restarted on the same state, as on a node.
 *
 * <p>Directories live under one base directory (by default a fresh {@code /tmp/berth-test-*});
 * {@link #close()} stops the daemon, leaves the namespace and deletes the directory.
 */
public final class BerthDaemon implements AutoCloseable {
    /** JVM flags of the production launcher (see README, "Memory"). */
    public static final List<String> JVM_FLAGS = List.of(
            "-XX:+UseSerialGC", "-Xms12m", "-Xmx96m", "-XX:MaxNewSize=2m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30",
            "-XX:-ShrinkHeapInSteps", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:CompileThresholdScaling=3",
            "-XX:TrimNativeHeapInterval=30000", "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0",
            "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED");

    /**
     * The launchers' class archive flags (README, "Memory"): the JVM maps the daemon's classes from
     * {@code archive} and writes it at a clean exit when it is missing or stale. Test daemons run
     * without one (many start at once and each would write one at exit); benches opt in.
     */
    public static List<String> classArchiveFlags(Path archive) {
        return List.of("-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=" + archive);
    }

    private final Path base;
    private final PrivateMountNamespace namespace;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<String> extraJvmOptions = new ArrayList<>();
    private final int httpPort;
    private Process process;
    private CriClient client;
    private int starts;

    private BerthDaemon(Path base, PrivateMountNamespace namespace, int httpPort) {
        this.base = base;
        this.namespace = namespace;
        this.httpPort = httpPort;
    }

    /** Starts a daemon on fresh directories; extra environment (BERTH_* keys) may be given. */
    public static BerthDaemon start(Map<String, String> extraEnv) throws IOException {
        BerthDaemon d = prepare(extraEnv);
        try {
            d.startProcess();
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    public static BerthDaemon start() throws IOException {
        return start(Map.of());
    }

    /** Sets up directories and the namespace without starting the process (for start-failure tests). */
    public static BerthDaemon prepare(Map<String, String> extraEnv) throws IOException {
        Path base = Files.createTempDirectory("berth-test-");
        // 0711 as a node's /var/lib: a user-namespaced container's root (an unprivileged host uid)
        // must pass through it to reach its root filesystem; nobody else may list it
        Files.setPosixFilePermissions(base, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        PrivateMountNamespace ns = PrivateMountNamespace.create(base.resolve("ns"));
        BerthDaemon d = new BerthDaemon(base, ns, freePort());
        d.env.put("BERTH_SOCKET", base.resolve("berth.sock").toString());
        d.env.put("BERTH_ROOT", base.resolve("root").toString());
        d.env.put("BERTH_RUN", base.resolve("run").toString());
        d.env.put("BERTH_HTTP_PORT", Integer.toString(d.httpPort));
        d.env.put("BERTH_STREAM_PORT", "0"); // several test daemons at once: any free port
        d.env.put("BERTH_CONFIG", writeEmptyConfig(base).toString());
        // Pod network per daemon: never the node's /etc/cni/net.d, a bridge and subnet of its own
        // (not 10.88/10.89, which containerd setups use).
        d.env.put("BERTH_CNI_CONF_DIR", base.resolve("cni").resolve("net.d").toString());
        d.env.put("BERTH_CNI_BRIDGE", "bt" + d.httpPort);
        d.env.put("BERTH_CNI_DEFAULT_SUBNET", "10.70." + (d.httpPort % 200 + 20) + ".0/24");
        d.env.putAll(extraEnv);
        return d;
    }

    private static Path writeEmptyConfig(Path base) throws IOException {
        Path f = base.resolve("config.yaml");
        Files.writeString(f, "# test daemon: everything from BERTH_* variables\n");
        return f;
    }

    public static Path jar() {
        String home = System.getProperty("berth.home", "..");
        Path jar = Path.of(home, "cri-server", "target", "quarkus-app", "quarkus-run.jar").toAbsolutePath().normalize();
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: build with ./mvnw -DskipTests package first");
        }
        return jar;
    }

    /** The JVM options a bench adds after the launcher's, so they win: {@code BERTH_JAVA_OPTS}, split at spaces. */
    public static List<String> benchJvmOptions() {
        String opts = System.getenv().getOrDefault("BERTH_JAVA_OPTS", "").strip();
        return opts.isEmpty() ? List.of() : List.of(opts.split("\\s+"));
    }

    /** JVM options after the production flags (they win), for the next start: e.g. NMT for a bench. */
    public BerthDaemon jvmOptions(List<String> options) {
        extraJvmOptions.addAll(options);
        return this;
    }

    /** The command line that starts the daemon (inside the namespace). */
    public List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(JVM_FLAGS);
        cmd.addAll(extraJvmOptions);
        cmd.add("-jar");
        cmd.add(jar().toString());
        return namespace.wrap(cmd);
    }

    /** Starts the process and waits until Version answers on the socket. */
    public void startProcess() throws IOException {
        startProcess(Duration.ofSeconds(60));
    }

    /** The same, with a longer wait where the JVM starts slowly (the emulated cgroup v2 VM). */
    public void startProcess(Duration timeout) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        pb.environment().putAll(env);
        starts++;
        process = pb.start();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("berth exited with " + process.exitValue() + " during start:\n" + logText());
            }
            if (Files.exists(socket())) {
                try {
                    client().runtime().withDeadlineAfter(2, TimeUnit.SECONDS).version(VersionRequest.getDefaultInstance());
                    return;
                } catch (StatusRuntimeException notYet) {
                    // socket file exists before the server accepts; retry
                }
            }
            sleep(50);
        }
        throw new IOException("berth did not answer Version within " + timeout.toSeconds() + " s:\n" + logText());
    }

    /** Runs the daemon to its exit (for start-failure tests) and returns the exit code. */
    public int runToExit(long seconds) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        pb.environment().putAll(env);
        process = pb.start();
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("berth still running after " + seconds + " s");
        }
        return process.exitValue();
    }

    /** SIGKILL, as when the node's daemon crashes; containers must keep running. */
    public void kill9() throws InterruptedException {
        closeClient();
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM and wait for a clean exit; returns the exit code. */
    public int stop() throws InterruptedException {
        closeClient();
        if (process == null || !process.isAlive()) {
            return process == null ? 0 : process.exitValue();
        }
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        return process.exitValue();
    }

    public void restart() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            stop();
        }
        startProcess();
    }

    public synchronized CriClient client() {
        if (client == null) {
            client = new CriClient(socket());
        }
        return client;
    }

    private synchronized void closeClient() {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    public Path base() {
        return base;
    }

    public Path socket() {
        return Path.of(env.get("BERTH_SOCKET"));
    }

    public String endpoint() {
        return "unix://" + socket();
    }

    public Path root() {
        return Path.of(env.get("BERTH_ROOT"));
    }

    public Path run() {
        return Path.of(env.get("BERTH_RUN"));
    }

    public int httpPort() {
        return httpPort;
    }

    public String httpUrl(String path) {
        return "http://127.0.0.1:" + httpPort + path;
    }

    public Map<String, String> env() {
        return env;
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    public PrivateMountNamespace namespace() {
        return namespace;
    }

    public Path log() {
        return base.resolve("berth.log");
    }

    public String logText() {
        try {
            return Files.exists(log()) ? Files.readString(log()) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    public int starts() {
        return starts;
    }

    @Override
    public void close() {
        try {
            stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        namespace.close();
        Commands.run("rm", "-rf", "--one-file-system", base.toString());
        // berth keeps its network's bridge and base rules while its config names them; this
        // daemon's network was its own, so it goes with it
        BridgeNetwork.remove(env.get("BERTH_CNI_BRIDGE"));
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
