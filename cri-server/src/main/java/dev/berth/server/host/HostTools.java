package dev.berth.server.host;

import dev.berth.server.config.BerthConfig;
import dev.berth.linux.RuntimeCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The programs berth drives (OCI runtimes, conmon): whether they are there and which versions.
 * Versions are read once at start; Status reports them.
 */
public final class HostTools {
    /** Debian package that provides each tool, for the "how to install" hint. */
    private static final Map<String, String> PACKAGES = Map.of("runc", "runc", "crun", "crun", "conmon", "conmon");

    private final Map<String, String> versions = new LinkedHashMap<>();
    private final List<String> missingRequired = new ArrayList<>();

    private HostTools() {}

    /** Probes the default runtime and conmon (required) and every other configured runtime (optional). */
    public static HostTools probe(BerthConfig config) {
        HostTools t = new HostTools();
        config.runtimes().forEach((handler, binary) -> {
            boolean required = handler.equals(config.defaultHandler());
            t.probeOne(handler, binary, "runtimes." + handler, required);
        });
        t.probeOne("conmon", config.conmon(), "conmon", true);
        return t;
    }

    private void probeOne(String name, Path binary, String key, boolean required) {
        if (!Files.isExecutable(binary)) {
            versions.put(name, "missing (" + binary + ")");
            if (required) {
                String pkg = PACKAGES.getOrDefault(binary.getFileName().toString(), binary.getFileName().toString());
                missingRequired.add(name + " not found at " + binary + " (config key " + key
                        + "); install it with: apt-get install " + pkg);
            }
            return;
        }
        versions.put(name, firstLine(binary));
    }

    private static String firstLine(Path binary) {
        try {
            RuntimeCommand.Result r = RuntimeCommand.run(List.of(binary.toString(), "--version"), Map.of(), 5_000,
                    4096, null);
            String s = (r.out().isBlank() ? r.err() : r.out()).strip();
            int nl = s.indexOf('\n');
            return nl < 0 ? s : s.substring(0, nl);
        } catch (RuntimeException e) {
            return "unusable: " + e.getMessage();
        }
    }

    /** One line per missing required tool, empty when all are there. */
    public List<String> missingRequired() {
        return missingRequired;
    }

    public Map<String, String> versions() {
        return versions;
    }
}
