package dev.berth.image.manifest;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * An image manifest or an index (manifest list), as one record: a manifest has {@code config} and
 * {@code layers}, an index has {@code manifests}. Which one it is comes from the media type.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(int schemaVersion, String mediaType, Descriptor config, List<Descriptor> layers,
        List<Descriptor> manifests, Map<String, String> annotations) {

    static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /**
     * Parses manifest bytes. {@code contentType} is the registry's Content-Type; the document's own
     * mediaType wins when present. Schema 1 and unknown types are refused with a clear message.
     */
    public static Manifest parse(byte[] bytes, String contentType, String what) {
        Manifest m;
        try {
            m = JSON.readValue(bytes, Manifest.class);
        } catch (IOException e) {
            throw BerthException.precondition("%s: the registry sent a manifest that is not valid JSON: %s", what,
                    e.getMessage());
        }
        String type = m.mediaType() != null && !m.mediaType().isEmpty() ? m.mediaType() : contentType;
        if (type == null || type.isEmpty() || type.equals("application/json")) {
            type = m.manifests() != null ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST;
        }
        if (type.equals(MediaTypes.DOCKER_SCHEMA1) || type.equals(MediaTypes.DOCKER_SCHEMA1_SIGNED) || m.schemaVersion() == 1) {
            throw new BerthException(dev.berth.core.error.ErrorKind.UNIMPLEMENTED, what
                    + ": Docker schema 1 manifests are deprecated and not supported; push the image again with a "
                    + "current tool (schema 2 or OCI)");
        }
        if (!MediaTypes.isIndex(type) && !MediaTypes.isManifest(type)) {
            throw BerthException.precondition("%s: unsupported manifest media type %s", what, type);
        }
        Manifest out = new Manifest(m.schemaVersion(), type, m.config(), m.layers() == null ? List.of() : m.layers(),
                m.manifests() == null ? List.of() : m.manifests(),
                m.annotations() == null ? Map.of() : Map.copyOf(m.annotations()));
        if (out.isIndex()) {
            if (out.manifests().isEmpty()) {
                throw BerthException.precondition("%s: the image index lists no manifests", what);
            }
        } else {
            if (out.config() == null || out.config().digest() == null) {
                throw BerthException.precondition("%s: the manifest has no config descriptor", what);
            }
            for (Descriptor l : out.layers()) {
                if (l.digest() == null || l.size() < 0) {
                    throw BerthException.precondition("%s: a layer descriptor has no digest or a negative size", what);
                }
            }
        }
        return out;
    }

    public boolean isIndex() {
        return MediaTypes.isIndex(mediaType);
    }
}
