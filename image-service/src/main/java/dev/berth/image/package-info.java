/**
 * berth's image service: pulling images from registries into a local store of overlayfs layers.
 *
 * <p>Packages (each may use those listed after it, never those before):
 * <ul>
 *   <li>{@code dev.berth.image}: {@link dev.berth.image.ImageManager}, the facade (pull, list,
 *       status, remove, disk usage, {@link dev.berth.image.ImageLookup}); image records in the state store.</li>
 *   <li>{@code image.pull}: one pull's orchestration: manifest, index, config, parallel layer
 *       fetch-and-unpack, single-flight per image and per layer.</li>
 *   <li>{@code image.registry}: the distribution API: one class per endpoint (manifests, blobs)
 *       and {@code RegistryCaller}, the single HTTP caller (auth, redirects, error codes);
 *       {@code .auth}: credentials, challenges, tokens; {@code .config}: registries.conf v2.</li>
 *   <li>{@code image.layer}: unpacked layers by diff_id (overlay lowerdirs), leases against GC.</li>
 *   <li>{@code image.unpack}: tar to overlay form (whiteouts, opaque dirs, xattrs), containment.</li>
 *   <li>{@code image.manifest}: OCI / Docker schema 2 documents, platform choice.</li>
 *   <li>{@code image.content}: digests, verified streams, the blob store.</li>
 *   <li>{@code image.ref}: parsing and normalizing image references.</li>
 * </ul>
 *
 * <p>On disk under the store root: {@code blobs/sha256/<hex>} (manifests, indexes, configs),
 * {@code blobs/ingest/} (partial writes), {@code layers/<hex of diff_id>/} (a lowerdir each),
 * {@code layers/.tmp-*} (unpacks in progress or debris, removed at start).
 */
package dev.berth.image;
