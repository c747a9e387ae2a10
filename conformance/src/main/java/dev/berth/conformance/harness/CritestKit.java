package dev.berth.conformance.harness;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * The critest kit beside the repository ({@code shared/critest}, see its README): critest v1.34
 * (the Kubernetes CRI validation suite) and a local registry holding a stand-in for every image the
 * suite pulls, so the suite runs offline.
 *
 * <p>The registry address and the kit's state directory come from {@code REGISTRY_ADDR} and
 * {@code CRITEST_ENV_STATE}, as for the kit's own scripts, so a test can run beside another
 * registry on another port.
 */
public final class CritestKit {
    public static final String VERSION = "1.34";
    /** The upstream registries critest pulls from; all are mirrored by the kit's registry (MIRRORS.md). */
    public static final List<String> MIRRORED_HOSTS = List.of("registry.k8s.io", "gcr.io", "docker.io", "public.ecr.aws");
    /** What the kit's scripts run besides its own binaries (Debian packages in the README). */
    private static final List<String> TOOLS = List.of("/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/umoci",
            "/usr/bin/python3", "/usr/bin/curl");

    private final Path dir;
    private final String registryAddr;
    private final Path state;

    private CritestKit(Path dir, String registryAddr, Path state) {
        this.dir = dir;
        this.registryAddr = registryAddr;
        this.state = state;
    }

    /** The kit beside the checkout ({@code berth.home/../shared/critest}), settings from the environment. */
    public static CritestKit locate() {
        Path home = Path.of(System.getProperty("berth.home", "..")).toAbsolutePath().normalize();
        Path dir = home.resolveSibling("shared").resolve("critest");
        String addr = Optional.ofNullable(System.getenv("REGISTRY_ADDR")).filter(s -> !s.isBlank()).orElse("127.0.0.1:5000");
        Path state = Path.of(Optional.ofNullable(System.getenv("CRITEST_ENV_STATE")).filter(s -> !s.isBlank())
                .orElse("/tmp/critest-kit"));
        return new CritestKit(dir, addr, state);
    }

    /** A kit in a given directory (for tests of this class). */
    public static CritestKit at(Path dir, String registryAddr, Path state) {
        return new CritestKit(dir, registryAddr, state);
    }

    /** The same kit on another state directory (a copy, for a run inside the VM). */
    public CritestKit withState(Path stateDir) {
        return new CritestKit(dir, registryAddr, stateDir);
    }

    /** Why the kit cannot run here, or empty when everything it needs is present. */
    public Optional<String> missing() {
        List<String> why = new ArrayList<>();
        for (Path p : List.of(critest(), script("run-critest.sh"), script("start-registry.sh"))) {
            if (!Files.isRegularFile(p)) {
                why.add(p + " is missing (the critest kit belongs beside the checkout, at ../shared/critest)");
            }
        }
        for (String tool : TOOLS) {
            if (!Files.isExecutable(Path.of(tool))) {
                why.add(tool + " is missing (./berth test installs it: apt-get install skopeo umoci python3 docker-registry curl)");
            }
        }
        return why.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", why));
    }

    public Path dir() {
        return dir;
    }

    public Path critest() {
        return dir.resolve("bin").resolve("critest");
    }

    public String registryAddr() {
        return registryAddr;
    }

    public Path state() {
        return state;
    }

    private Path script(String name) {
        return dir.resolve(name);
    }

    /** The kit's settings, for its scripts. */
    public Map<String, String> env() {
        return Map.of("REGISTRY_ADDR", registryAddr, "CRITEST_ENV_STATE", state.toString());
    }

    /** Whether a registry answers on the kit's address. */
    public boolean registryAnswers() {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        try {
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://" + registryAddr + "/v2/"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            http.close();
        }
    }

    /**
     * Starts the kit's registry and pushes the stand-in images (idempotent: a registry of this kit
     * already running on the address is reused). {@link Registry#close()} stops it only if this call
     * started it.
     */
    public Registry startRegistry() throws IOException {
        boolean wasRunning = registryAnswers();
        Commands.Result r = runScript(List.of("bash", script("start-registry.sh").toString()), Duration.ofMinutes(10));
        if (r.exitCode() != 0 || !registryAnswers()) {
            throw new IOException("the critest registry did not start on " + registryAddr + " (state " + state + "): "
                    + r.output());
        }
        return new Registry(!wasRunning);
    }

    /** A started (or reused) kit registry. */
    public final class Registry implements AutoCloseable {
        private final boolean startedHere;

        private Registry(boolean startedHere) {
            this.startedHere = startedHere;
        }

        public boolean startedHere() {
            return startedHere;
        }

        @Override
        public void close() {
            if (startedHere) {
                runScript(List.of("bash", script("start-registry.sh").toString(), "--stop"), Duration.ofMinutes(1));
            }
        }
    }

    /**
     * A containers registries.conf (v2) sending every host critest pulls from to the kit's registry,
     * over plain HTTP, keeping the repository path (see the kit's MIRRORS.md).
     */
    public String registriesConf() {
        StringBuilder conf = new StringBuilder("# critest kit: upstream registries -> " + registryAddr + "\n");
        for (String host : MIRRORED_HOSTS) {
            conf.append("""
                    [[registry]]
                    prefix = "%s"
                    location = "%s"
                    insecure = true
                    """.formatted(host, registryAddr));
        }
        return conf.toString();
    }

    /**
     * Runs {@code run-critest.sh ENDPOINT OUT -- ginkgoArgs}; {@code wrap} turns the command into the
     * one to start (e.g. entering the daemon's mount namespace, so critest's host-side mounts are the
     * ones the runtime sees). The run is killed after {@code timeout}.
     */
    public Run run(UnaryOperator<List<String>> wrap, String endpoint, Path out, Duration timeout, List<String> ginkgoArgs)
            throws IOException, InterruptedException {
        Files.createDirectories(out);
        List<String> cmd = new ArrayList<>(List.of("bash", script("run-critest.sh").toString(), endpoint, out.toString(), "--",
                // critest's own bound, below ours, so it still writes its reports when time runs out
                "--ginkgo.timeout=" + Math.max(1, timeout.toMinutes() - 2) + "m"));
        cmd.addAll(ginkgoArgs);
        Path console = out.resolve("run-critest.out");
        ProcessBuilder pb = new ProcessBuilder(wrap.apply(cmd)).redirectErrorStream(true)
                .redirectOutput(console.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        pb.environment().putAll(env());
        long start = System.nanoTime();
        Process p = pb.start();
        boolean finished = p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS);
        if (!finished) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        String output = Files.readString(console, StandardCharsets.UTF_8);
        Path tsv = out.resolve("results-" + VERSION + ".tsv");
        return new Run(finished ? p.exitValue() : -1, !finished, took, output, tsv);
    }

    /** One run of the suite: its exit code, whether it timed out, its console output and result table. */
    public record Run(int exitCode, boolean timedOut, Duration took, String output, Path resultTable) {
        public CritestResults results() throws IOException {
            if (!Files.isRegularFile(resultTable)) {
                throw new IOException("critest wrote no result table " + resultTable + (timedOut ? " (timed out)" : "")
                        + "; its output:\n" + tail(output));
            }
            return CritestResults.parse(resultTable);
        }
    }

    private Commands.Result runScript(List<String> command, Duration timeout) {
        List<String> cmd = new ArrayList<>(List.of("env"));
        env().forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.addAll(command);
        try {
            Path log = Files.createTempFile("critest-kit-", ".log");
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
                if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return new Commands.Result(-1, "timed out after " + timeout + ": " + command + "\n" + Files.readString(log));
                }
                return new Commands.Result(p.exitValue(), Files.readString(log));
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            return new Commands.Result(-1, command + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Commands.Result(-1, "interrupted");
        }
    }

    static String tail(String s) {
        return s.length() > 3000 ? "..." + s.substring(s.length() - 3000) : s;
    }
}
