package dev.berth.image.registry;

import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.image.registry.body.ResponseBody;
import java.util.List;

/** GET /v2/&lt;name&gt;/blobs/&lt;digest&gt;: a blob as a stream (verification is the reader's job). */
public final class BlobEndpoint {
    private final RegistryCaller caller;

    public BlobEndpoint(RegistryCaller caller) {
        this.caller = caller;
    }

    /** Opens the blob (watched for stalls); the caller reads and closes the stream. */
    public ResponseBody open(RegistryEndpoint ep, String digest, RegistryCredentials creds, String what) {
        return caller.get(ep, "blobs/" + digest, List.of(), creds, what).body();
    }
}
