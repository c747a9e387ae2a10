package dev.berth.image;

import dev.berth.core.error.BerthException;
import dev.berth.core.fs.OwnerOnly;
import dev.berth.core.state.StateStore;
import dev.berth.core.timing.StepTimes;
import dev.berth.image.content.BlobStore;
import dev.berth.image.layer.LayerLeases;
import dev.berth.image.layer.LayerStore;
import dev.berth.image.manifest.ImageConfig;
import dev.berth.image.manifest.Manifest;
import dev.berth.image.manifest.PlatformSelector;
import dev.berth.image.pull.ImagePuller;
import dev.berth.image.pull.SingleFlight;
import dev.berth.image.ref.ImageReference;
import dev.berth.image.registry.BlobEndpoint;
import dev.berth.image.registry.ManifestEndpoint;
import dev.berth.image.registry.RegistryCaller;
import dev.berth.image.registry.RegistryEndpoint;
import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.image.registry.config.RegistriesConf;
import dev.berth.image.unpack.LayerUnpacker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * berth's image store: pull, list, status, remove and disk usage, and {@link ImageLookup} for the
 * container side.
 *
 * <p>On disk under {@code root}: {@code blobs/} (manifests, indexes, configs by digest) and
 * {@code layers/} (one unpacked overlay lowerdir per diff_id). Image records live in the
 * {@link StateStore}; a record is written only after all its layers and blobs are complete, so an
 * image is either fully there or absent, also after kill -9. Layers and blobs no record refers to
 * are removed when an image goes and at start.
 *
 * <p>Names: each image has repo tags ("docker.io/library/busybox:1.36", a tag belongs to one image
 * at a time) and repo digests ("docker.io/library/busybox@sha256:..."). RemoveImage by id or digest
 * removes the image; by tag removes that tag, and the image with its last tag.
 */
public final class ImageManager implements ImageLookup, AutoCloseable {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(ImageManager.class.getName());

    /**
     * @param root the image store directory (e.g. /var/lib/berth/images)
     * @param registriesConf registries.conf v2 file; read at every pull, missing means no rules
     * @param maxConcurrentDownloads layer downloads in flight across all pulls
     * @param requestTimeout how long a registry may take to start answering a request
     * @param stallTimeout how long any registry response (manifest, config, token, blob, error body) may go
     *     without a byte arriving
     * @param unpackLimits bounds on each layer: uncompressed bytes, entries, header sizes
     */
    public record Options(Path root, Path registriesConf, int maxConcurrentDownloads, PlatformSelector platform,
            Duration connectTimeout, Duration requestTimeout, Duration stallTimeout, LayerUnpacker.Limits unpackLimits) {
        public static Options defaults(Path root) {
            return new Options(root, null, 3, PlatformSelector.LINUX_AMD64, Duration.ofSeconds(10), Duration.ofMinutes(2),
                    Duration.ofSeconds(60), LayerUnpacker.Limits.DEFAULT);
        }

        public Options withRegistriesConf(Path p) {
            return new Options(root, p, maxConcurrentDownloads, platform, connectTimeout, requestTimeout, stallTimeout,
                    unpackLimits);
        }

        public Options withMaxConcurrentDownloads(int n) {
            return new Options(root, registriesConf, n, platform, connectTimeout, requestTimeout, stallTimeout,
                    unpackLimits);
        }

        public Options withStallTimeout(Duration d) {
            return new Options(root, registriesConf, maxConcurrentDownloads, platform, connectTimeout, requestTimeout, d,
                    unpackLimits);
        }

        public Options withUnpackLimits(LayerUnpacker.Limits l) {
            return new Options(root, registriesConf, maxConcurrentDownloads, platform, connectTimeout, requestTimeout,
                    stallTimeout, l);
        }
    }

    private final Options options;
    private final StateStore state;
    private final PullListener listener;
    private final BlobStore blobs;
    private final LayerStore layers;
    private final LayerLeases leases = new LayerLeases();
    private final ImagePuller puller;
    private final RegistryCaller caller;
    private final SingleFlight<String, String> pullFlight = new SingleFlight<>();
    /** Guards image records: tag moves, removals and garbage collection. */
    private final Object recordLock = new Object();
    /**
     * The image records as last committed: ImageStatus, ListImages and lookups read this instead of
     * the StateStore, so they never wait behind a pull's commit or a disk sync. Replaced (under
     * {@link #recordLock}) after every change of the records.
     */
    private volatile List<ImageRecord> snapshot;
    /**
     * The user of each image config (blobs are content-addressed, so never stale): filled by the
     * pull and at start, so ImageStatus and ListImages, answered on the transport's thread, do not
     * read and parse a config file.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, String> users = new java.util.concurrent.ConcurrentHashMap<>();

    private ImageManager(Options options, StateStore state, PullListener listener,
            dev.berth.image.registry.transport.RegistryHttp transport) {
        this.options = options;
        this.state = state;
        this.listener = listener;
        OwnerOnly.directory(options.root());
        this.blobs = new BlobStore(options.root().resolve("blobs"));
        this.layers = new LayerStore(options.root().resolve("layers"), state);
        this.caller = new RegistryCaller(transport, options.requestTimeout(), options.stallTimeout());
        this.puller = new ImagePuller(blobs, layers, leases, new ManifestEndpoint(caller), new BlobEndpoint(caller),
                options.platform(), options.maxConcurrentDownloads(), options.unpackLimits());
    }

    /** Opens the store and cleans up what a crash left behind. */
    public static ImageManager open(Options options, StateStore state, PullListener listener) {
        return open(options, state, listener,
                dev.berth.image.registry.transport.RegistryHttp.plain(options.connectTimeout()));
    }

    /** @param transport registry HTTP: the proxy and per-registry TLS (certs.d) to use */
    public static ImageManager open(Options options, StateStore state, PullListener listener,
            dev.berth.image.registry.transport.RegistryHttp transport) {
        ImageManager m = new ImageManager(options, state, listener == null ? PullListener.NONE : listener, transport);
        m.recover();
        return m;
    }

    public Path root() {
        return options.root();
    }

    private void recover() {
        synchronized (recordLock) {
            blobs.recover();
            layers.recover();
            for (ImageRecord r : records()) {
                boolean complete = r.diffIds().stream().allMatch(d -> layers.get(d).isPresent())
                        && r.blobs().stream().allMatch(blobs::contains);
                if (!complete) {
                    state.delete(ImageRecord.KIND, r.id());
                }
            }
            refresh();
            for (ImageRecord r : snapshot) {
                try {
                    user(r.id());
                } catch (BerthException unreadable) {
                    // reported by the ImageStatus that asks for it
                }
            }
            collectGarbageLocked();
        }
    }

    // ---- pull ----

    /** Pulls {@code image} (any reference form) and returns the image id. */
    public String pull(String image, RegistryCredentials creds) {
        long start = System.nanoTime();
        long[] bytes = {0};
        try {
            ImageReference ref = ImageReference.parse(image);
            RegistryCredentials c = creds == null ? RegistryCredentials.NONE : creds;
            String id = pullFlight.run(ref + "|" + c.cacheKey(), () -> {
                StepTimes times = new StepTimes();
                List<RegistryEndpoint> sources = RegistriesConf.load(options.registriesConf()).sourcesFor(ref);
                times.step("registries-conf");
                ImagePuller.Fetched f = puller.pull(ref, sources, c, times);
                bytes[0] = f.bytesDownloaded();
                users.put(f.id(), f.user()); // before the record is visible to ImageStatus
                try (LayerLeases.Lease lease = f.lease()) {
                    record(ref, f);
                }
                times.step("commit");
                times.log(LOG, "PullImage " + ref);
                return f.id();
            });
            listener.pullFinished("success", bytes[0], Duration.ofNanos(System.nanoTime() - start));
            return id;
        } catch (BerthException e) {
            listener.pullFinished(e.kind().name().toLowerCase(Locale.ROOT), bytes[0],
                    Duration.ofNanos(System.nanoTime() - start));
            throw e;
        } catch (RuntimeException e) {
            listener.pullFinished("internal", bytes[0], Duration.ofNanos(System.nanoTime() - start));
            throw BerthException.internal("pull " + image + " failed: " + e, e);
        }
    }

    private void record(ImageReference ref, ImagePuller.Fetched f) {
        synchronized (recordLock) {
            String tag = ref.tag() != null ? ref.name() + ":" + ref.tag() : null;
            state.atomically(() -> {
                if (tag != null) {
                    for (ImageRecord other : records()) {
                        if (!other.id().equals(f.id()) && other.repoTags().contains(tag)) {
                            List<String> tags = new ArrayList<>(other.repoTags());
                            tags.remove(tag);
                            state.put(ImageRecord.KIND, other.id(), new ImageRecord(other.id(), tags, other.repoDigests(),
                                    other.diffIds(), other.blobs(), other.size(), other.pinned(), other.pulledAt()));
                        }
                    }
                }
                Optional<ImageRecord> existing = state.get(ImageRecord.KIND, f.id(), ImageRecord.class);
                LinkedHashSet<String> tags = new LinkedHashSet<>(existing.map(ImageRecord::repoTags).orElse(List.of()));
                if (tag != null) {
                    tags.add(tag);
                }
                LinkedHashSet<String> digests = new LinkedHashSet<>(existing.map(ImageRecord::repoDigests).orElse(List.of()));
                digests.add(f.repoDigest());
                LinkedHashSet<String> kept = new LinkedHashSet<>(existing.map(ImageRecord::blobs).orElse(List.of()));
                kept.addAll(f.blobs());
                state.put(ImageRecord.KIND, f.id(), new ImageRecord(f.id(), List.copyOf(tags), List.copyOf(digests),
                        f.diffIds(), List.copyOf(kept), f.size(), existing.map(ImageRecord::pinned).orElse(false),
                        System.currentTimeMillis()));
            });
            refresh();
        }
    }

    // ---- queries ----

    private List<ImageRecord> records() {
        List<ImageRecord> s = snapshot;
        if (s == null) {
            synchronized (recordLock) {
                if (snapshot == null) {
                    refresh();
                }
                return snapshot;
            }
        }
        return s;
    }

    /** Reloads the snapshot from the StateStore; the caller holds {@link #recordLock}. */
    private void refresh() {
        snapshot = List.copyOf(state.list(ImageRecord.KIND, ImageRecord.class));
    }

    /**
     * Resolves what CRI callers pass: an image id (full, or "sha256:"-less, or a unique hex prefix of
     * at least 12 digits), a tag, or a digest reference. Malformed references are not found.
     */
    Optional<ImageRecord> resolve(String reference) {
        if (reference == null || reference.isEmpty()) {
            return Optional.empty();
        }
        List<ImageRecord> all = records();
        if (ImageReference.isImageId(reference)) {
            String id = reference.contains(":") ? reference : "sha256:" + reference;
            Optional<ImageRecord> byId = all.stream().filter(r -> r.id().equals(id)).findFirst();
            if (byId.isPresent()) {
                return byId;
            }
        }
        try {
            ImageReference ref = ImageReference.parse(reference);
            if (ref.hasDigest()) {
                String wanted = ref.name() + "@" + ref.digest();
                for (ImageRecord r : all) {
                    if (r.repoDigests().contains(wanted)
                            || r.blobs().contains(ref.digest()) && r.repoDigests().stream().anyMatch(d -> d.startsWith(ref.name() + "@"))) {
                        return Optional.of(r);
                    }
                }
            } else {
                String tag = ref.name() + ":" + ref.tag();
                for (ImageRecord r : all) {
                    if (r.repoTags().contains(tag)) {
                        return Optional.of(r);
                    }
                }
            }
        } catch (BerthException notAReference) {
            // may still be an id prefix
        }
        String hex = reference.startsWith("sha256:") ? reference.substring(7) : reference;
        if (hex.matches("[0-9a-f]{12,64}")) {
            List<ImageRecord> matches = all.stream().filter(r -> r.id().startsWith("sha256:" + hex)).toList();
            if (matches.size() == 1) {
                return Optional.of(matches.getFirst());
            }
        }
        return Optional.empty();
    }

    public Optional<ImageView> status(String reference) {
        return resolve(reference).map(this::view);
    }

    /** All images, or those {@code filter} resolves to when it is not empty. */
    public List<ImageView> list(String filter) {
        if (filter != null && !filter.isEmpty()) {
            return resolve(filter).map(this::view).map(List::of).orElse(List.of());
        }
        return records().stream().map(this::view).toList();
    }

    private ImageView view(ImageRecord r) {
        return new ImageView(r.id(), r.repoTags(), r.repoDigests(), r.size(), user(r.id()), r.pinned());
    }

    private String user(String id) {
        return users.computeIfAbsent(id, i -> config(i).map(ImageConfig::user).orElse(""));
    }

    /** The image config blob as stored (for ImageStatus verbose). */
    public Optional<byte[]> configJson(String id) {
        return blobs.read(id);
    }

    private Optional<ImageConfig> config(String id) {
        return blobs.read(id).map(b -> ImageConfig.parse(b, "image " + id));
    }

    @Override
    public Optional<LocalImage> find(String reference) {
        return resolve(reference).map(this::localImage);
    }

    /**
     * Finds the image and leases its layers for a container being created: RemoveImage waits for
     * the lease (see {@link #remove}) and garbage collection keeps the layers. Looked up and leased
     * under the record lock, so a removal either finishes first (not found) or sees the lease.
     */
    @Override
    public Optional<ImageLease> lease(String reference) {
        synchronized (recordLock) {
            Optional<ImageRecord> found = resolve(reference);
            if (found.isEmpty()) {
                return Optional.empty();
            }
            LocalImage image = localImage(found.get());
            LayerLeases.Lease lease = leases.acquireUse(found.get().id(), found.get().diffIds());
            return Optional.of(new ImageLease(image, lease::close));
        }
    }

    private LocalImage localImage(ImageRecord r) {
        ImageConfig c = config(r.id()).orElseThrow(() -> BerthException.internal(
                "image " + r.id() + " has no config blob in " + blobs.root(), null));
        ImageConfig.Config cc = c.config();
        LocalImage.Config lc = new LocalImage.Config(
                c.user(),
                cc == null || cc.entrypoint() == null ? List.of() : cc.entrypoint(),
                cc == null || cc.cmd() == null ? List.of() : cc.cmd(),
                cc == null || cc.env() == null ? List.of() : cc.env(),
                cc == null || cc.workingDir() == null ? "" : cc.workingDir(),
                cc == null || cc.stopSignal() == null ? "" : cc.stopSignal(),
                cc == null || cc.labels() == null ? Map.of() : cc.labels());
        List<Path> lower = new ArrayList<>();
        for (String d : r.diffIds().reversed()) {
            lower.add(layers.lowerDir(d)); // the short name: many layers still fit in the mount options
        }
        return new LocalImage(r.id(), r.repoTags(), r.repoDigests(), r.size(), lc, List.copyOf(lower),
                manifestAnnotations(r));
    }

    /** The annotations of the image's manifest (the one naming its config), as kept in the blob store. */
    private Map<String, String> manifestAnnotations(ImageRecord r) {
        for (String digest : r.blobs()) {
            if (digest.equals(r.id())) {
                continue;
            }
            Optional<byte[]> bytes = blobs.read(digest);
            if (bytes.isEmpty()) {
                continue;
            }
            Manifest m;
            try {
                m = Manifest.parse(bytes.get(), "", "image " + r.id());
            } catch (BerthException notAManifest) {
                continue;
            }
            if (!m.isIndex() && m.config() != null && r.id().equals(m.config().digest())) {
                return m.annotations();
            }
        }
        return Map.of();
    }

    // ---- remove and garbage collection ----

    /** How long RemoveImage waits for containers being created from the image to be mounted. */
    private volatile Duration removeWait = Duration.ofSeconds(10);

    /** Sets how long RemoveImage waits for an image a container being created holds (tests). */
    void removeWait(Duration d) {
        this.removeWait = d;
    }

    /**
     * Removes an image or one of its tags. Returns false when nothing matched (CRI treats removing
     * an absent image as success). An image a container being created holds (between its lookup
     * and its overlay mount) is removed once that lease ends; FAILED_PRECONDITION when it does not
     * end within {@link #removeWait}.
     */
    public boolean remove(String reference) {
        long deadline = System.nanoTime() + removeWait.toNanos();
        while (true) {
            String held;
            synchronized (recordLock) {
                Optional<ImageRecord> found = resolve(reference);
                if (found.isEmpty()) {
                    return false;
                }
                ImageRecord r = found.get();
                String tag = tagOf(reference);
                if (tag != null && r.repoTags().contains(tag) && r.repoTags().size() > 1) {
                    List<String> tags = new ArrayList<>(r.repoTags());
                    tags.remove(tag);
                    state.put(ImageRecord.KIND, r.id(), new ImageRecord(r.id(), tags, r.repoDigests(), r.diffIds(),
                            r.blobs(), r.size(), r.pinned(), r.pulledAt()));
                    refresh();
                    return true;
                }
                if (!leases.inUse(r.id())) {
                    state.delete(ImageRecord.KIND, r.id());
                    refresh();
                    users.remove(r.id());
                    collectGarbageLocked();
                    return true;
                }
                held = r.id();
            }
            // outside the record lock: the creating container's lease ends without it
            if (!leases.awaitUnused(held, deadline)) {
                throw BerthException.precondition("image %s is in use by a container being created; remove it "
                        + "again once the container is created", held);
            }
        }
    }

    private static String tagOf(String reference) {
        if (ImageReference.isImageId(reference)) {
            return null;
        }
        try {
            ImageReference ref = ImageReference.parse(reference);
            return ref.tag() == null ? null : ref.name() + ":" + ref.tag();
        } catch (BerthException e) {
            return null;
        }
    }

    /**
     * Deletes layers and blobs no image refers to. Kept: what running pulls have leased, and layers
     * an overlay mount still uses as a lowerdir (a container of a removed image keeps its root
     * filesystem; its layers go at a later collection, once unmounted).
     */
    public void collectGarbage() {
        synchronized (recordLock) {
            collectGarbageLocked();
        }
    }

    private void collectGarbageLocked() {
        Set<Path> mounted = Mountpoints.overlayLowerDirs();
        // Lowerdirs appear as given at mount time: a layer directory, or its short link (absolute or, for
        // images with many layers, relative "l/<id>" or "<id>"): the link's file name identifies the layer.
        Set<String> mountedNames = new HashSet<>();
        for (Path p : mounted) {
            if (p.getFileName() != null) {
                mountedNames.add(p.getFileName().toString());
            }
        }
        synchronized (leases.lock()) {
            Set<String> liveLayers = new HashSet<>();
            Set<String> liveBlobs = new HashSet<>();
            for (ImageRecord r : records()) {
                liveLayers.addAll(r.diffIds());
                liveBlobs.addAll(r.blobs());
            }
            for (LayerStore.LayerRecord l : layers.list()) {
                boolean inUse = mounted.contains(layers.dir(l.diffId())) || l.link() != null && mountedNames.contains(l.link());
                if (!liveLayers.contains(l.diffId()) && !leases.isLeased(l.diffId()) && !inUse) {
                    layers.delete(l.diffId());
                }
            }
            for (String b : blobs.list()) {
                if (!liveBlobs.contains(b) && !leases.isLeased(b)) {
                    blobs.delete(b);
                }
            }
        }
    }

    // ---- disk usage ----

    public FsUsage fsInfo() {
        long bytes = 0;
        long inodes = 0;
        for (LayerStore.LayerRecord l : layers.list()) {
            bytes += l.diskBytes();
            inodes += l.inodes();
        }
        for (String b : blobs.list()) {
            try {
                bytes += (Files.size(blobs.path(b)) + 4095) / 4096 * 4096;
                inodes++;
            } catch (IOException e) {
                // removed meanwhile
            }
        }
        return new FsUsage(Mountpoints.of(options.root()), bytes, inodes, System.currentTimeMillis() * 1_000_000L);
    }

    /** Bytes used by the store (for the store-size gauge). */
    public long storeBytes() {
        return fsInfo().usedBytes();
    }

    public int imageCount() {
        return records().size();
    }

    @Override
    public void close() {
        puller.close();
        caller.close();
    }
}
