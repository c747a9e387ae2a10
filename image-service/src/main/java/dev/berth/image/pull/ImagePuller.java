package dev.berth.image.pull;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.timing.StepTimes;
import dev.berth.image.content.BlobStore;
import dev.berth.image.content.Digests;
import dev.berth.image.content.VerifyingInputStream;
import dev.berth.image.layer.LayerLeases;
import dev.berth.image.layer.LayerStore;
import dev.berth.image.manifest.Descriptor;
import dev.berth.image.manifest.ImageConfig;
import dev.berth.image.manifest.Manifest;
import dev.berth.image.manifest.MediaTypes;
import dev.berth.image.manifest.PlatformSelector;
import dev.berth.image.ref.ImageReference;
import dev.berth.image.registry.BlobEndpoint;
import dev.berth.image.registry.CredentialScope;
import dev.berth.image.registry.ManifestEndpoint;
import dev.berth.image.registry.RegistryEndpoint;
import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.image.registry.body.Bodies;
import dev.berth.image.registry.body.ResponseBody;
import dev.berth.image.registry.transport.RegistryHttp;
import dev.berth.image.unpack.LayerUnpacker;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fetches one image: manifest (through the index for this platform), config, and every layer
 * not yet in the layer store. Layers download in parallel (bounded by a semaphore shared by all
 * pulls) and stream from the socket through the decompressor into the unpacker while both the
 * compressed and the uncompressed bytes are hashed; nothing is held whole in memory. A layer
 * becomes visible only after its digest, size and diff_id are verified.
 */
public final class ImagePuller {
    /**
     * Configs are small JSON documents read whole into the daemon's heap (96 MiB): refuse bigger ones
     * (the bound containers/image uses too).
     */
    public static final long MAX_CONFIG_BYTES = 4L * 1024 * 1024;

    /**
     * The result of fetching an image; the caller records it (tags, digests) and then closes the lease.
     *
     * @param repoDigest "name@digest" of what the reference resolved to (an index digest for multi-arch)
     * @param user the config's User, for ImageStatus without reading the config again
     */
    public record Fetched(String id, String repoDigest, List<String> diffIds, List<String> blobs, long size,
            long bytesDownloaded, String user, LayerLeases.Lease lease) {}

    private final BlobStore blobs;
    private final LayerStore layers;
    private final LayerLeases leases;
    private final ManifestEndpoint manifests;
    private final BlobEndpoint blobEndpoint;
    private final PlatformSelector platform;
    private final Semaphore downloads;
    private final SingleFlight<String, LayerStore.LayerRecord> layerFlight = new SingleFlight<>();
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private final LayerUnpacker.Limits unpackLimits;

    public ImagePuller(BlobStore blobs, LayerStore layers, LayerLeases leases, ManifestEndpoint manifests,
            BlobEndpoint blobEndpoint, PlatformSelector platform, int maxConcurrentDownloads,
            LayerUnpacker.Limits unpackLimits) {
        this.unpackLimits = unpackLimits;
        this.blobs = blobs;
        this.layers = layers;
        this.leases = leases;
        this.manifests = manifests;
        this.blobEndpoint = blobEndpoint;
        this.platform = platform;
        this.downloads = new Semaphore(Math.max(1, maxConcurrentDownloads), true);
    }

    /**
     * Tries each source in order (mirrors first); returns the first success or the primary's failure.
     * Its steps are timed into {@code times}.
     */
    public Fetched pull(ImageReference ref, List<RegistryEndpoint> sources, RegistryCredentials creds, StepTimes times) {
        BerthException last = null;
        for (RegistryEndpoint ep : sources) {
            try {
                return pullFrom(ref, ep, CredentialScope.forEndpoint(creds, ep, ref), times);
            } catch (BerthException e) {
                last = e;
                boolean fallThrough = ep.mirror() && (e.kind() == ErrorKind.NOT_FOUND || e.kind() == ErrorKind.UNAVAILABLE
                        || e.kind() == ErrorKind.UNAUTHENTICATED || e.kind() == ErrorKind.PERMISSION_DENIED);
                if (!fallThrough) {
                    throw e;
                }
            }
        }
        throw last;
    }

    private Fetched pullFrom(ImageReference ref, RegistryEndpoint ep, RegistryCredentials creds, StepTimes times) {
        String what = "pull " + ref + (ep.mirror() ? " (mirror " + ep.host() + ")" : "");
        AtomicLong downloaded = new AtomicLong();

        ManifestEndpoint.Fetched top = manifests.fetch(ep, ref.manifestReference(), creds, what);
        downloaded.addAndGet(top.bytes().length);
        Manifest m = Manifest.parse(top.bytes(), top.contentType(), what);
        long size = top.bytes().length;
        List<byte[]> toKeep = new ArrayList<>();
        List<String> toKeepDigests = new ArrayList<>();
        toKeep.add(top.bytes());
        toKeepDigests.add(top.digest());
        if (m.isIndex()) {
            Descriptor chosen = platform.select(m.manifests(), what);
            Digests.check(chosen.digest(), what);
            ManifestEndpoint.Fetched child = manifests.fetch(ep, chosen.digest(), creds, what);
            downloaded.addAndGet(child.bytes().length);
            m = Manifest.parse(child.bytes(), child.contentType(), what);
            if (m.isIndex()) {
                throw BerthException.precondition("%s: the index entry for %s is itself an index; nested indexes are "
                        + "not supported", what, platform);
            }
            size += child.bytes().length;
            toKeep.add(child.bytes());
            toKeepDigests.add(child.digest());
        }

        Descriptor cfg = m.config();
        String configDigest = Digests.check(cfg.digest(), what + ": config");
        if (cfg.size() < 0 || cfg.size() > MAX_CONFIG_BYTES) {
            // Also a missing or negative size: the descriptor's size is what bounds the read.
            throw new BerthException(ErrorKind.RESOURCE_EXHAUSTED, what + ": the manifest gives the image config a size of "
                    + cfg.size() + " bytes; berth accepts configs of 0 to " + MAX_CONFIG_BYTES + " bytes");
        }
        times.step("manifest");
        LayerLeases.Lease lease = leases.acquire(List.of(configDigest));
        try {
            return fetchRest(ref, ep, creds, what, m, cfg, configDigest, size, toKeep, toKeepDigests, top, downloaded, lease,
                    times);
        } catch (RuntimeException | Error e) {
            lease.close();
            throw e;
        }
    }

    private Fetched fetchRest(ImageReference ref, RegistryEndpoint ep, RegistryCredentials creds, String what, Manifest m,
            Descriptor cfg, String configDigest, long size, List<byte[]> toKeep, List<String> toKeepDigests,
            ManifestEndpoint.Fetched top, AtomicLong downloaded, LayerLeases.Lease lease, StepTimes times) {
        LinkedHashSet<String> kept = new LinkedHashSet<>();
        if (!blobs.contains(configDigest)) {
            try (InputStream in = blobEndpoint.open(ep, configDigest, creds, what + ": config " + configDigest)) {
                times.step("config-request");
                blobs.write(configDigest, cfg.size(), in, what + ": config");
            } catch (IOException e) {
                throw BerthException.unavailable(what + ": reading config " + configDigest + " failed: " + e.getMessage(), e);
            }
            downloaded.addAndGet(cfg.size());
        }
        times.step("config");
        byte[] configBytes = blobs.read(configDigest).orElseThrow();
        ImageConfig config = ImageConfig.parse(configBytes, what);
        size += cfg.size();

        List<Descriptor> layerDescs = m.layers();
        List<String> diffIds = config.diffIds();
        if (diffIds.size() != layerDescs.size()) {
            throw BerthException.precondition("%s: the manifest lists %d layers but the config has %d diff_ids", what,
                    layerDescs.size(), diffIds.size());
        }
        for (int i = 0; i < layerDescs.size(); i++) {
            Descriptor d = layerDescs.get(i);
            Digests.check(d.digest(), what + ": layer " + i);
            Digests.check(diffIds.get(i), what + ": diff_id " + i);
            if (d.mediaType() != null && !MediaTypes.isLayer(d.mediaType())) {
                throw BerthException.precondition("%s: layer %s has unsupported media type %s", what, d.digest(),
                        d.mediaType());
            }
            size += d.size();
        }

        times.step("config-parse");
        lease.add(diffIds);
        lease.add(toKeepDigests);
        fetchLayers(ep, creds, layerDescs, diffIds, downloaded, what);
        times.step("layers");
        for (int i = 0; i < toKeep.size(); i++) {
            blobs.put(toKeepDigests.get(i), toKeep.get(i), what);
        }
        times.step("manifest-store");
        kept.addAll(toKeepDigests);
        kept.add(configDigest);
        return new Fetched(configDigest, ref.name() + "@" + top.digest(), List.copyOf(diffIds), List.copyOf(kept), size,
                downloaded.get(), config.user(), lease);
    }

    private void fetchLayers(RegistryEndpoint ep, RegistryCredentials creds, List<Descriptor> descs, List<String> diffIds,
            AtomicLong downloaded, String what) {
        List<Future<?>> tasks = new ArrayList<>();
        // Joined pulls share a layer download; a cancelled pull cancels its own tasks (their waiters retry).
        for (int i = 0; i < descs.size(); i++) {
            Descriptor d = descs.get(i);
            String diffId = diffIds.get(i);
            tasks.add(workers.submit(() -> layerFlight.run(diffId, () -> layers.get(diffId)
                    .orElseGet(() -> download(ep, creds, d, diffId, downloaded, what)))));
        }
        RuntimeException first = null;
        for (Future<?> f : tasks) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (first == null) {
                    first = e.getCause() instanceof RuntimeException r ? r
                            : BerthException.internal(what + ": " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                for (Future<?> t : tasks) {
                    t.cancel(true);
                }
                throw Bodies.cancelled(what, e);
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private LayerStore.LayerRecord download(RegistryEndpoint ep, RegistryCredentials creds, Descriptor d, String diffId,
            AtomicLong downloaded, String what) {
        String layerWhat = what + ": layer " + d.digest();
        try {
            downloads.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Bodies.cancelled(layerWhat, e);
        }
        try {
            return layers.create(diffId, dir -> {
                try (ResponseBody body = blobEndpoint.open(ep, d.digest(), creds, layerWhat)) {
                    VerifyingInputStream compressed = new VerifyingInputStream(body, d.digest(), d.size());
                    try {
                        LayerUnpacker.Stats st = unpackVerified(compressed, dir, diffId, ep, layerWhat,
                                unpackLimits.forCompressedSize(d.size()));
                        return new LayerStore.Usage(st.bytes(), st.diskBytes(), st.inodes());
                    } catch (IOException | BerthException e) {
                        if (body.stalled()) {
                            throw new BerthException(ErrorKind.UNAVAILABLE, layerWhat + ": registry " + ep.host()
                                    + " sent no data for " + RegistryHttp.describe(body.stallTimeout())
                                    + "; the download was abandoned", e);
                        }
                        if (Thread.currentThread().isInterrupted()) {
                            throw Bodies.cancelled(layerWhat, e);
                        }
                        throw e;
                    } finally {
                        downloaded.addAndGet(compressed.count());
                    }
                }
            });
        } finally {
            downloads.release();
        }
    }

    /** Streams one layer blob through decompression into the unpacker, then checks digest, size and diff_id. */
    private static LayerUnpacker.Stats unpackVerified(VerifyingInputStream compressed, java.nio.file.Path dir,
            String diffId, RegistryEndpoint ep, String layerWhat, LayerUnpacker.Limits limits) throws IOException {
        try {
            // Bounded below the hash: the drain after the end-of-archive marker counts too.
            VerifyingInputStream tar = new VerifyingInputStream(
                    limits.bound(LayerUnpacker.decompress(compressed), layerWhat), diffId, -1);
            LayerUnpacker.Stats stats = LayerUnpacker.unpack(tar, dir, layerWhat, limits);
            tar.drain();
            compressed.drain();
            checkBlob(compressed, ep, layerWhat);
            String bad = tar.mismatch();
            if (bad != null) {
                throw BerthException.precondition("%s: uncompressed content does not match the config's "
                        + "diff_id: %s", layerWhat, bad);
            }
            return stats;
        } catch (IOException | BerthException e) {
            if (e instanceof BerthException b && (b.kind() == ErrorKind.PERMISSION_DENIED
                    || b.kind() == ErrorKind.RESOURCE_EXHAUSTED)) {
                throw b;
            }
            // Corrupt bytes usually surface as a decompression or tar error first: say what really happened.
            try {
                compressed.drain();
                checkBlob(compressed, ep, layerWhat);
            } catch (IOException drainFailure) {
                // the original failure below is the better message
            }
            if (e instanceof BerthException b) {
                throw b;
            }
            throw classify((IOException) e, ep, layerWhat);
        }
    }

    private static void checkBlob(VerifyingInputStream compressed, RegistryEndpoint ep, String what) {
        String bad = compressed.mismatch();
        if (bad != null) {
            throw BerthException.precondition("%s: blob from registry %s failed verification (%s); the registry "
                    + "serves corrupt content, nothing was stored", what, ep.host(), bad);
        }
    }

    private static BerthException classify(IOException e, RegistryEndpoint ep, String what) {
        if (e instanceof VerifyingInputStream.SizeExceededException) {
            return BerthException.precondition("%s: %s", what, e.getMessage());
        }
        if (e instanceof java.util.zip.ZipException || e.getClass().getName().contains("Zstd")
                || e instanceof dev.berth.image.unpack.MalformedTarException) {
            return BerthException.precondition("%s: the layer is not a valid (compressed) tar archive: %s", what,
                    e.getMessage());
        }
        return BerthException.unavailable(what + ": downloading from registry " + ep.host() + " failed: "
                + e.getMessage(), e);
    }

    public void close() {
        workers.shutdownNow();
    }
}
