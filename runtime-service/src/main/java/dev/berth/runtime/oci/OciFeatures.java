package dev.berth.runtime.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.linux.Mounts;
import dev.berth.linux.RuntimeCommand;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an OCI runtime binary can do beyond the OCI 1.0 spec, as far as CRI asks (Status reports
 * it per runtime handler, CreateContainer refuses what the handler cannot do).
 *
 * <p>Read from {@code <runtime> features} (runc 1.1 and later, crun 1.9 and later). crun before
 * 1.9 has no such subcommand; there its version decides ({@code rro} came with crun 1.4).
 *
 * @param recursiveReadOnlyMounts the runtime knows the {@code rro} mount option and the kernel has
 *     mount_setattr(2) to carry it out (a runtime that does not know {@code rro} ignores it, which
 *     would leave sub-mounts writable)
 */
public record OciFeatures(boolean recursiveReadOnlyMounts) {
    public static final OciFeatures NONE = new OciFeatures(false);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CRUN_VERSION = Pattern.compile("^crun version (\\d+)\\.(\\d+)", Pattern.MULTILINE);

    /** Asks the binary (two short commands at most); a runtime that cannot be asked has no features. */
    public static OciFeatures probe(Path binary) {
        if (!java.nio.file.Files.isExecutable(binary)) {
            return NONE;
        }
        RuntimeCommand.Result features = RuntimeCommand.run(List.of(binary.toString(), "features"), Map.of(),
                10_000, 1 << 20, null);
        Optional<String> featuresJson = features.ok() ? Optional.of(features.out()) : Optional.empty();
        String version = "";
        if (featuresJson.isEmpty()) {
            RuntimeCommand.Result v = RuntimeCommand.run(List.of(binary.toString(), "--version"), Map.of(), 10_000,
                    1 << 16, null);
            version = v.ok() ? v.out() : "";
        }
        return from(featuresJson, version, Mounts.mountSetattrSupported());
    }

    /**
     * @param featuresJson what {@code <runtime> features} printed, empty when it has no such subcommand
     * @param versionOutput what {@code <runtime> --version} printed (read only without features)
     */
    static OciFeatures from(Optional<String> featuresJson, String versionOutput, boolean kernelHasMountSetattr) {
        boolean rro = featuresJson.map(OciFeatures::mountOptionsHaveRro)
                .orElseGet(() -> crunAtLeast(versionOutput, 1, 4));
        return new OciFeatures(rro && kernelHasMountSetattr);
    }

    private static boolean mountOptionsHaveRro(String json) {
        try {
            JsonNode options = JSON.readTree(json).path("mountOptions");
            for (JsonNode o : options) {
                if (o.asText().equals("rro")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean crunAtLeast(String versionOutput, int major, int minor) {
        Matcher m = CRUN_VERSION.matcher(versionOutput);
        if (!m.find()) {
            return false;
        }
        int ma = Integer.parseInt(m.group(1));
        int mi = Integer.parseInt(m.group(2));
        return ma > major || (ma == major && mi >= minor);
    }
}
