package dev.berth.image.manifest;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;

/** An OCI content descriptor: what a manifest or index says about a blob it points to. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Descriptor(String mediaType, String digest, long size, List<String> urls, Map<String, String> annotations,
        Platform platform) {

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Platform(String architecture, String os, String variant,
            @com.fasterxml.jackson.annotation.JsonProperty("os.version") String osVersion) {}
}
