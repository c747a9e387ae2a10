package dev.berth.image.manifest;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/** The parts of an OCI / Docker image config blob that berth reads. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ImageConfig(String architecture, String os, String variant, Config config, RootFs rootfs) {

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Config(@JsonProperty("User") String user, @JsonProperty("Env") List<String> env,
            @JsonProperty("Entrypoint") List<String> entrypoint, @JsonProperty("Cmd") List<String> cmd,
            @JsonProperty("WorkingDir") String workingDir, @JsonProperty("StopSignal") String stopSignal,
            @JsonProperty("Labels") Map<String, String> labels) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record RootFs(String type, @JsonProperty("diff_ids") List<String> diffIds) {}

    public static ImageConfig parse(byte[] bytes, String what) {
        try {
            ImageConfig c = Manifest.JSON.readValue(bytes, ImageConfig.class);
            if (c.rootfs() == null || c.rootfs().diffIds() == null) {
                throw BerthException.precondition("%s: the image config has no rootfs.diff_ids", what);
            }
            return c;
        } catch (IOException e) {
            throw BerthException.precondition("%s: the image config is not valid JSON: %s", what, e.getMessage());
        }
    }

    public List<String> diffIds() {
        return rootfs.diffIds();
    }

    /** The image's User ("" when it names none). */
    public String user() {
        return config == null || config.user() == null ? "" : config.user();
    }
}
