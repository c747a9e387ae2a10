package dev.berth.agent;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The agent's image, built without Docker and without a base from the internet, with jib-core:
 * first a base made here ("berth/java-base": a jlink'd Java runtime and the glibc files it links,
 * on scratch), then the agent's image on it (its jars and classes, entrypoint NodeAgent).
 */
final class AgentImage {
    static final Path JAVA_HOME = Path.of(System.getProperty("java.home"));
    /** What the agent needs of the JDK: fabric8 (HTTP client, TLS), gRPC/Netty, Jackson, logging. */
    static final List<String> MODULES = List.of("java.base", "java.logging", "java.net.http", "java.naming",
            "java.management", "jdk.unsupported", "java.xml", "java.sql", "java.desktop", "jdk.crypto.ec",
            "jdk.crypto.cryptoki");

    private AgentImage() {}

    /** Builds and pushes the base, then the agent image; returns the agent image's reference. */
    static String buildAndPush(String registryHost, Path moduleDir, Path work) throws Exception {
        Path jre = work.resolve("jre");
        jlink(jre);
        String base = registryHost + "/berth/java-base:test";
        Jib.fromScratch().setFormat(ImageFormat.OCI)
                .addFileEntriesLayer(tree(jre, "/opt/java", "java-runtime"))
                .addFileEntriesLayer(glibc(jre))
                .addFileEntriesLayer(FileEntriesLayer.builder().setName("tmp")
                        .addEntry(Files.createDirectories(work.resolve("empty")), AbsoluteUnixPath.get("/tmp"),
                                FilePermissions.fromOctalString("777"))
                        .build())
                .setEnvironment(java.util.Map.of("JAVA_HOME", "/opt/java", "PATH", "/opt/java/bin"))
                .setCreationTime(Instant.EPOCH)
                .containerize(to(base));
        String agent = registryHost + "/berth/node-agent:test";
        JibContainer c = Jib.from(RegistryImage.named(ImageReference.parse(base))).setFormat(ImageFormat.OCI)
                .addFileEntriesLayer(tree(moduleDir.resolve("target/agent-libs"), "/app/libs", "libs"))
                .addFileEntriesLayer(tree(moduleDir.resolve("target/classes"), "/app/classes", "classes"))
                .setEntrypoint("/opt/java/bin/java", "-XX:+UseSerialGC", "-Xmx48m", "-XX:TieredStopAtLevel=1",
                        "-XX:-UsePerfData", "-cp", "/app/classes:/app/libs/*", "dev.berth.agent.NodeAgent")
                .containerize(to(agent));
        return agent + "@" + c.getDigest();
    }

    private static Containerizer to(String ref) throws Exception {
        return Containerizer.to(RegistryImage.named(ImageReference.parse(ref))).setAllowInsecureRegistries(true)
                .setOfflineMode(false);
    }

    static void jlink(Path out) throws Exception {
        run(List.of(JAVA_HOME.resolve("bin/jlink").toString(), "--add-modules", String.join(",", MODULES),
                "--strip-debug", "--no-header-files", "--no-man-pages", "--output", out.toString()));
    }

    /** A directory as a layer, keeping each file's mode (executables stay executable). */
    static FileEntriesLayer tree(Path dir, String target, String name) throws IOException {
        FileEntriesLayer.Builder b = FileEntriesLayer.builder().setName(name);
        b.addEntryRecursive(dir, AbsoluteUnixPath.get(target), (src, dst) -> {
            try {
                return FilePermissions.fromPosixFilePermissions(Files.getPosixFilePermissions(src));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, (src, dst) -> Instant.EPOCH);
        return b.build();
    }

    /** The C library files the runtime's binaries link against (ldd), at the paths they are looked up. */
    static FileEntriesLayer glibc(Path jre) throws Exception {
        Set<String> libs = new TreeSet<>();
        List<Path> binaries = new ArrayList<>();
        try (Stream<Path> s = Files.walk(jre)) {
            s.filter(p -> p.toString().endsWith(".so") || p.getParent().endsWith("bin")).filter(Files::isRegularFile)
                    .forEach(binaries::add);
        }
        Pattern lib = Pattern.compile("(/\\S+\\.so[.\\d]*)");
        for (Path b : binaries) {
            Matcher m = lib.matcher(run(List.of("ldd", b.toString())));
            while (m.find()) {
                // the runtime's own libraries ($ORIGIN/../lib) are in its layer already
                if (!Path.of(m.group(1)).normalize().startsWith(jre)) {
                    libs.add(m.group(1));
                }
            }
        }
        FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName("glibc");
        for (String l : libs) {
            Path real = Path.of(l).toRealPath();
            String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(real));
            layer.addEntry(real, AbsoluteUnixPath.get(l), FilePermissions.fromPosixFilePermissions(
                    PosixFilePermissions.fromString(mode)), Instant.EPOCH);
        }
        return layer.build();
    }

    static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + ":\n" + out);
        }
        return out;
    }
}
