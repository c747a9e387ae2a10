package dev.berth.image.registry;

import dev.berth.core.error.BerthException;
import dev.berth.image.content.Digests;
import dev.berth.image.manifest.MediaTypes;
import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.image.registry.body.Bodies;

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
        boolean byDigest = reference.contains(":");
        String expected = byDigest ? Digests.check(reference, what) : null;
        RegistryCaller.Response r = caller.get(ep, "manifests/" + reference, MediaTypes.ACCEPTED, creds, what);
        String contentType = r.headers().firstValue("Content-Type").map(v -> v.split(";")[0].trim()).orElse("");
        String headerDigest = r.headers().firstValue("Docker-Content-Digest").orElse(null);
        byte[] bytes = Bodies.readLimited(r.body(), MAX_MANIFEST_BYTES, what + ": manifest");
        if (expected != null) {
            // Verified in the algorithm the reference names (sha256 or sha512).
            String digest = Digests.compute(expected, bytes);
            if (!expected.equals(digest)) {
                throw BerthException.precondition("%s: registry %s served a manifest whose digest is %s, not the %s "
                        + "asked for; the registry's content is corrupt or tampered with", what, ep.host(), digest, expected);
            }
            return new Fetched(bytes, expected, contentType);
        }
        String digest = Digests.sha256(bytes);
        if (headerDigest != null && headerDigest.matches("sha(256|512):[0-9a-f]+")) {
            String announced = Digests.compute(headerDigest, bytes);
            if (!headerDigest.equals(announced)) {
                throw BerthException.precondition("%s: registry %s announced manifest digest %s but served content with "
                        + "digest %s", what, ep.host(), headerDigest, announced);
            }
        }
        return new Fetched(bytes, digest, contentType);
    }
}
