package dev.berth.cni.config;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * Finds the network config the way kubelet-era runtimes do: the lexically first *.conflist,
 * *.conf or *.json file in the config dir. Re-read on every call (a few hundred microseconds),
 * cached by path and modification time, so edits take effect without a restart.
 */
public final class ConfigLoader {
    /** The plugin type berth runs in-process. */
    public static final String BUILTIN_BRIDGE = "berth-bridge";
    public static final String DEFAULT_FILE = "10-berth.conflist";

    private final Path confDir;
    private volatile Cached cached;

    private record Cached(Path file, long mtime, long size, NetworkConfigList config) {}

    public ConfigLoader(Path confDir) {
        this.confDir = confDir;
    }

    public Path confDir() {
        return confDir;
    }

    /** The first config file, if any. */
    public java.util.Optional<Path> firstConfigFile() {
        if (!Files.isDirectory(confDir)) {
            return java.util.Optional.empty();
        }
        try (Stream<Path> s = Files.list(confDir)) {
            return s.filter(p -> {
                        String n = p.getFileName().toString();
                        return (n.endsWith(".conflist") || n.endsWith(".conf") || n.endsWith(".json"))
                                && Files.isRegularFile(p);
                    })
                    .sorted()
                    .findFirst();
        } catch (IOException e) {
            throw BerthException.internal("cannot list the CNI config dir " + confDir + ": " + e.getMessage(), e);
        }
    }

    /** Loads the current network config; FAILED_PRECONDITION when there is none. */
    public NetworkConfigList load() {
        Path file = firstConfigFile().orElseThrow(() -> new BerthException(ErrorKind.FAILED_PRECONDITION,
                "no CNI network config (*.conflist) in " + confDir + "; add one or restart berth to write its default"));
        try {
            long mtime = Files.getLastModifiedTime(file).toMillis();
            long size = Files.size(file);
            Cached c = cached;
            if (c != null && c.file.equals(file) && c.mtime == mtime && c.size == size) {
                return c.config;
            }
            String json = Files.readString(file, StandardCharsets.UTF_8);
            NetworkConfigList conf = NetworkConfigList.parse(json, !file.toString().endsWith(".conflist"),
                    file.toString());
            cached = new Cached(file, mtime, size, conf);
            return conf;
        } catch (IOException e) {
            throw BerthException.internal("cannot read CNI config " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes berth's default conflist (the built-in bridge with host-local style IPAM) when the dir
     * holds no config at all. Returns the file written, or empty when a config already existed.
     */
    public java.util.Optional<Path> writeDefaultIfMissing(String bridge, String subnet, Path ipamDataDir) {
        if (firstConfigFile().isPresent()) {
            return java.util.Optional.empty();
        }
        ObjectNode root = NetworkConfigList.JSON.createObjectNode();
        root.put("cniVersion", "1.0.0");
        root.put("name", "berth");
        ArrayNode plugins = root.putArray("plugins");
        ObjectNode br = plugins.addObject();
        br.put("type", BUILTIN_BRIDGE);
        br.put("bridge", bridge);
        br.put("isGateway", true);
        br.put("ipMasq", true);
        br.put("hairpinMode", true);
        br.putObject("capabilities").put("portMappings", true);
        ObjectNode ipam = br.putObject("ipam");
        ipam.put("type", "host-local");
        ipam.putArray("ranges").addArray().addObject().put("subnet", subnet);
        ipam.put("dataDir", ipamDataDir.toString());
        Path target = confDir.resolve(DEFAULT_FILE);
        try {
            Files.createDirectories(confDir);
            Path tmp = confDir.resolve("." + DEFAULT_FILE + ".tmp");
            Files.writeString(tmp, NetworkConfigList.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return java.util.Optional.of(target);
        } catch (IOException e) {
            throw BerthException.internal("cannot write the default CNI config " + target + ": " + e.getMessage(), e);
        }
    }
}
