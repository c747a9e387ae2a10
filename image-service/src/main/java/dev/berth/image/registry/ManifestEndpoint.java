package dev.berth.image.registry;

import dev.berth.core.error.BerthException;
import dev.berth.image.content.Digests;
import dev.berth.image.manifest.MediaTypes;
import dev.berth.image.registry.auth.RegistryCredentials;
import java.io.InputStream;
import java.net.http.HttpResponse;

/** GET /v2/&lt;name&gt;/manifests/&lt;reference&gt;: a manifest or index, checked against the digest asked for. */
public final class ManifestEndpoint {
    /** Manifests are small; anything bigger is refused rather than held in memory. */
    public static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

    /** The bytes as served, their digest, and the registry's Content-Type. */
    public record Fetched(byte[] bytes, String digest, String contentType) {}

    private final RegistryCaller caller;

    public ManifestEndpoint(RegistryCaller caller) {
        this.caller = caller;
    }

    /**
     * Fetches by tag or digest. When {@code reference} is a digest, the content must hash to it; when
     * it is a tag, the registry's Docker-Content-Digest (if sent) must match the content.
     */
    public Fetched fetch(RegistryEndpoint ep, String reference, RegistryCredentials creds, String what) {
        HttpResponse<InputStream> r = caller.get(ep, "manifests/" + reference, MediaTypes.ACCEPTED, creds, what);
        String contentType = r.headers().firstValue("Content-Type").map(v -> v.split(";")[0].trim()).orElse("");
        String headerDigest = r.headers().firstValue("Docker-Content-Digest").orElse(null);
        byte[] bytes = RegistryCaller.readLimited(r, MAX_MANIFEST_BYTES, what + ": manifest");
        String digest = Digests.sha256(bytes);
        if (reference.startsWith("sha")) {
            String expected = Digests.check(reference, what);
            if (Digests.algorithm(expected).equals("sha256") && !expected.equals(digest)) {
                throw BerthException.precondition("%s: registry %s served a manifest whose digest is %s, not the %s "
                        + "asked for; the registry's content is corrupt or tampered with", what, ep.host(), digest, expected);
            }
            digest = expected;
        } else if (headerDigest != null && headerDigest.startsWith("sha256:") && !headerDigest.equals(digest)) {
            throw BerthException.precondition("%s: registry %s announced manifest digest %s but served content with "
                    + "digest %s", what, ep.host(), headerDigest, digest);
        }
        return new Fetched(bytes, digest, contentType);
    }
}
