package dev.berth.cni.config;

import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Finds the network config the way kubelet-era runtimes do: the lexically first *.conflist,
 * *.conf or *.json file in the config dir; with none there, berth's built-in network. Re-read on
 * every call (a few hundred microseconds), cached by path and modification time, so a config the
 * cluster's network add-on drops in later is used by the next pod without a restart. Only reads
 * the dir: it belongs to the cluster.
 */
public final class ConfigLoader {
    /** The plugin type berth runs in-process. */
    public static final String BUILTIN_BRIDGE = "berth-bridge";

    private final Path confDir;
    private final NetworkConfigList builtin;
    private volatile Cached cached;

    private record Cached(Path file, long mtime, long size, NetworkConfigList config) {}

    /** @param builtin the network pods get while the dir holds no config */
    public ConfigLoader(Path confDir, NetworkConfigList builtin) {
        this.confDir = confDir;
        this.builtin = builtin;
    }

    public NetworkConfigList builtin() {
        return builtin;
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

    /** The network new pods get now: the dir's first config, else the built-in network. */
    public NetworkConfigList load() {
        java.util.Optional<Path> first = firstConfigFile();
        if (first.isEmpty()) {
            return builtin;
        }
        Path file = first.get();
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
}
