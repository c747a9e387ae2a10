package dev.berth.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.cni.bridge.BuiltinBridgePlugin;
import dev.berth.cni.config.BuiltinNetwork;
import dev.berth.cni.config.ConfigLoader;
import dev.berth.cni.config.NetworkConfigList;
import dev.berth.cni.exec.CniPlugin;
import dev.berth.cni.exec.ExternalPlugin;
import dev.berth.cni.exec.PluginInvocation;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.fs.AtomicFiles;
import dev.berth.linux.host.LinuxHost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The pod network façade: runs the current conflist's plugin chain for ADD, DEL, CHECK and STATUS
 * and keeps, per attachment, the config it ran and the result it got under
 * {@code <stateDir>/results/}. DEL runs the config that ADD ran, even if the conf dir changed
 * meanwhile (after a crash in the middle of ADD: the current config, without prevResult).
 */
public final class CniNetworks implements NetworkReadiness {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final CniSettings settings;
    private final ConfigLoader loader;
    private final BuiltinBridgePlugin builtin;
    private final Path results;
    private final LinuxHost host;
    private volatile CniObserver observer = CniObserver.NONE;

    public CniNetworks(CniSettings settings, LinuxHost host) {
        this.settings = settings;
        this.host = host;
        this.loader = new ConfigLoader(settings.confDir(), BuiltinNetwork.config(settings.defaultBridge(),
                settings.defaultSubnet(), settings.stateDir().resolve("networks")));
        this.builtin = new BuiltinBridgePlugin(settings.stateDir().resolve("networks"), host);
        this.results = settings.stateDir().resolve("results");
    }

    /** The network new pods get now, and where it comes from (the conf dir's file or berth's configuration). */
    @Override
    public String networkInUse() {
        NetworkConfigList conf;
        try {
            conf = loader.load();
        } catch (BerthException e) {
            return "none: " + e.getMessage();
        }
        String where = conf == loader.builtin() ? conf.source() + "; " + settings.confDir() + " holds no config"
                : conf.source();
        if (conf != loader.builtin() && BuiltinNetwork.isLegacyDefaultFile(conf)) {
            where += " (written by an earlier berth; delete it to let the cluster's network config be used)";
        }
        return conf.name() + " from " + where;
    }

    public ConfigLoader loader() {
        return loader;
    }

    /**
     * Removes the bridge and base firewall chains of berth's built-in network (the one its
     * configuration names) if no pod uses it. DEL leaves them for the next pod; this is for an
     * owner that made the network its own and is done with it, as a test with a bridge of its own.
     *
     * @return false when pods still use the network (nothing was removed)
     */
    public boolean removeIdleBuiltinNetwork() {
        NetworkConfigList conf = loader.builtin();
        boolean removed = true;
        for (int i = 0; i < conf.plugins().size(); i++) {
            if (conf.plugins().get(i).path("type").asText().equals(BuiltinBridgePlugin.TYPE)) {
                removed &= builtin.removeIdleNetwork(conf.pluginConfig(i, null, null));
            }
        }
        return removed;
    }

    /**
     * For the daemon's start, once it knows every pod attached to a network ({@code attachedPodIds}):
     * first DELs each attachment a result is cached for but no such pod holds (a teardown that
     * failed or was cut short), with the config it was made with; then has the built-in bridge
     * release leases no such pod holds (an ADD a crash cut short before its cache was written).
     * Returns what was cleaned, for the log; a failed DEL is reported there and tried again at the
     * next start. No ADD or DEL may run meanwhile (the daemon calls it before it serves).
     */
    public List<String> collectGarbage(java.util.Set<String> attachedPodIds) {
        List<String> cleaned = new ArrayList<>();
        java.util.Set<String> seenConfigs = new java.util.LinkedHashSet<>(); // pods mostly share one
        for (ObjectNode cache : cachedAttachments()) {
            String id = cache.path("containerId").asText("");
            seenConfigs.add(cache.path("config").toString());
            if (id.isEmpty() || attachedPodIds.contains(id)) {
                continue;
            }
            PodNetworkRequest req = new PodNetworkRequest(id, null, cache.path("ifName").asText(""), "", "", "",
                    List.of());
            try {
                del(req);
                cleaned.add("attachment " + id + "/" + req.ifName());
            } catch (RuntimeException e) {
                cleaned.add("attachment " + id + "/" + req.ifName() + " (DEL failed: " + e.getMessage() + ")");
            }
        }
        // the built-in bridge's networks: today's config, berth's own and those of cached attachments
        List<NetworkConfigList> confs = new ArrayList<>(List.of(loader.builtin()));
        try {
            confs.add(loader.load());
        } catch (BerthException noConfig) {
            // no usable conf file: berth's own network is still collected
        }
        for (String c : seenConfigs) {
            try {
                confs.add(NetworkConfigList.parse(c, false, "cached config"));
            } catch (BerthException unreadable) {
                // its attachment was DELeted above or is a pod's; nothing to collect from it
            }
        }
        java.util.Set<String> bridges = new java.util.HashSet<>();
        for (NetworkConfigList conf : confs) {
            for (int i = 0; i < conf.plugins().size(); i++) {
                if (!conf.plugins().get(i).path("type").asText().equals(BuiltinBridgePlugin.TYPE)) {
                    continue;
                }
                ObjectNode pc = conf.pluginConfig(i, null, null);
                if (!bridges.add(pc.toString())) {
                    continue;
                }
                for (var lease : builtin.collectGarbage(pc, attachedPodIds)) {
                    cleaned.add("lease " + lease.address().getHostAddress() + " of " + conf.name()
                            + (lease.containerId().isEmpty() ? " (torn)" : " held by " + lease.containerId()));
                }
            }
        }
        return cleaned;
    }

    private List<ObjectNode> cachedAttachments() {
        List<ObjectNode> out = new ArrayList<>();
        List<Path> files;
        try {
            // a write a kill cut short is deleted; its ADD is undone by the lease GC
            files = AtomicFiles.listRemovingLeftovers(results);
        } catch (IOException e) {
            throw BerthException.internal("cannot list " + results + ": " + e.getMessage(), e);
        }
        for (Path f : files) {
            if (!f.getFileName().toString().endsWith(".json")) {
                continue;
            }
            try {
                if (JSON.readTree(f.toFile()) instanceof ObjectNode o) {
                    out.add(o);
                }
            } catch (IOException unreadable) {
                // left for its pod's DEL, which reports it
            }
        }
        return out;
    }

    /** Who is told of each ADD and DEL (duration, failure). */
    public void observe(CniObserver o) {
        observer = o == null ? CniObserver.NONE : o;
    }

    /** Runs ADD through the chain; on failure the chain is DELeted again and the error thrown. */
    public JsonNode setUp(PodNetworkRequest req) {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            JsonNode r = add(req);
            failed = false;
            return r;
        } finally {
            observer.ran("ADD", System.nanoTime() - start, failed);
        }
    }

    private JsonNode add(PodNetworkRequest req) {
        req.checkCniArgs();
        NetworkConfigList conf = loader.load();
        // No cache entry before ADD: after a crash mid-ADD, DEL runs with the current config and no
        // prevResult, which the spec requires plugins to handle (berth-bridge finds its veth and
        // leases by container id).
        PluginInvocation inv = invocation("ADD", req);
        JsonNode prev = null;
        try {
            for (int i = 0; i < conf.plugins().size(); i++) {
                ObjectNode pc = conf.pluginConfig(i, prev, runtimeConfig(conf, i, req));
                JsonNode r = plugin(conf, i).invoke(pc, inv);
                if (r != null) {
                    prev = r;
                }
            }
        } catch (RuntimeException e) {
            try {
                runDel(conf, req, prev);
                deleteCache(req);
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e instanceof BerthException b ? b.withContext("set up the network of pod " + req.containerId())
                    : e;
        }
        if (prev == null) {
            prev = JSON.createObjectNode().put("cniVersion", conf.cniVersion());
        }
        writeCache(req, conf, prev);
        return prev;
    }

    /**
     * Waits until what DELs left to finish after answering is done: the built-in bridge deletes a
     * stopped pod's detached veth in the background (see {@link BuiltinBridgePlugin}). At shutdown.
     */
    public void awaitTeardowns() {
        builtin.awaitTeardowns();
    }

    /** Runs DEL with the config ADD used (or the current one); repeatable, succeeds when nothing is left. */
    public void tearDown(PodNetworkRequest req) {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            del(req);
            failed = false;
        } finally {
            observer.ran("DEL", System.nanoTime() - start, failed);
        }
    }

    private void del(PodNetworkRequest req) {
        Optional<ObjectNode> cache = readCache(req);
        NetworkConfigList conf;
        JsonNode prev = null;
        if (cache.isPresent()) {
            if (req.portMappings().isEmpty()) {
                List<PortMapping> pm = new ArrayList<>();
                for (JsonNode m : cache.get().path("portMappings")) {
                    try {
                        pm.add(JSON.convertValue(m, PortMapping.class));
                    } catch (IllegalArgumentException invalid) {
                        // cached before mappings were checked: DEL finds its rules by container id
                    }
                }
                req = new PodNetworkRequest(req.containerId(), req.netns(), req.ifName(), req.podName(),
                        req.podNamespace(), req.podUid(), pm);
            }
            conf = NetworkConfigList.parse(cache.get().get("config").toString(), false, "cached config of "
                    + req.containerId());
            prev = cache.get().get("result");
        } else {
            // ADD never finished (crash, or it failed and was undone): DEL with today's network,
            // which every plugin must take for an attachment it does not know
            conf = loader.load();
        }
        runDel(conf, req, prev);
        deleteCache(req);
    }

    /** CHECK per the spec (skipped when the conflist says disableCheck). */
    public void check(PodNetworkRequest req) {
        ObjectNode cache = readCache(req).orElseThrow(() -> BerthException.notFound(
                "pod %s has no network attachment to check", req.containerId()));
        NetworkConfigList conf = NetworkConfigList.parse(cache.get("config").toString(), false, "cache");
        if (conf.disableCheck()) {
            return;
        }
        PluginInvocation inv = invocation("CHECK", req);
        for (int i = 0; i < conf.plugins().size(); i++) {
            plugin(conf, i).invoke(conf.pluginConfig(i, cache.get("result"), runtimeConfig(conf, i, req)), inv);
        }
    }

    /** The cached ADD result of an attachment, if ADD finished. */
    public Optional<JsonNode> cachedResult(String containerId, String ifName) {
        return readCache(new PodNetworkRequest(containerId, null, ifName, null, null, null, null))
                .map(c -> c.get("result")).filter(r -> r != null && !r.isNull());
    }

    @Override
    public Optional<String> notReadyReason() {
        NetworkConfigList conf;
        try {
            conf = loader.load();
        } catch (BerthException e) {
            return Optional.of(e.getMessage());
        }
        String network = "network " + conf.name() + " (" + conf.source() + ")";
        for (int i = 0; i < conf.plugins().size(); i++) {
            CniPlugin p;
            try {
                p = plugin(conf, i);
            } catch (BerthException e) {
                return Optional.of(network + ": " + e.getMessage());
            }
            if (conf.supportsStatus()) {
                try {
                    p.invoke(conf.pluginConfig(i, null, null),
                            new PluginInvocation("STATUS", null, null, null, null, cniPath()));
                } catch (BerthException e) {
                    return Optional.of(network + " is not ready: " + e.getMessage());
                }
            }
        }
        return Optional.empty();
    }

    private void runDel(NetworkConfigList conf, PodNetworkRequest req, JsonNode prev) {
        PluginInvocation inv = invocation("DEL", req);
        List<String> errors = new ArrayList<>();
        for (int i = conf.plugins().size() - 1; i >= 0; i--) {
            try {
                plugin(conf, i).invoke(conf.pluginConfig(i, prev, runtimeConfig(conf, i, req)), inv);
            } catch (RuntimeException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            throw new BerthException(ErrorKind.UNAVAILABLE, "tear down the network of pod " + req.containerId()
                    + ": " + String.join("; ", errors));
        }
    }

    private CniPlugin plugin(NetworkConfigList conf, int i) {
        String type = conf.plugins().get(i).path("type").asText();
        if (type.equals(BuiltinBridgePlugin.TYPE)) {
            return builtin;
        }
        if (type.contains("/") || type.contains("..")) {
            throw BerthException.invalid("CNI plugin type %s is not a plain name", type);
        }
        for (Path dir : settings.binDirs()) {
            Path exe = dir.resolve(type);
            if (Files.isExecutable(exe)) {
                return new ExternalPlugin(type, exe, host.commands());
            }
        }
        throw new BerthException(ErrorKind.FAILED_PRECONDITION, "CNI plugin \"" + type + "\" of network "
                + conf.name() + " is not in " + cniPath() + "; install it or change " + conf.source());
    }

    private ObjectNode runtimeConfig(NetworkConfigList conf, int i, PodNetworkRequest req) {
        ObjectNode rc = JSON.createObjectNode();
        if (conf.hasCapability(i, "portMappings") && !req.portMappings().isEmpty()) {
            ArrayNode arr = rc.putArray("portMappings");
            for (PortMapping m : req.portMappings()) {
                ObjectNode o = arr.addObject();
                o.put("hostPort", m.hostPort());
                o.put("containerPort", m.containerPort());
                o.put("protocol", m.protocol());
                if (m.hostIP() != null && !m.hostIP().isEmpty()) {
                    o.put("hostIP", m.hostIP());
                }
            }
        }
        return rc;
    }

    private PluginInvocation invocation(String command, PodNetworkRequest req) {
        String netns = req.netns() != null && Files.exists(req.netns()) ? req.netns().toString() : "";
        return new PluginInvocation(command, req.containerId(), netns, req.ifName(), req.cniArgs(), cniPath());
    }

    private String cniPath() {
        return settings.binDirs().stream().map(Path::toString).collect(Collectors.joining(":"));
    }

    private Path cacheFile(PodNetworkRequest req) {
        return results.resolve(req.containerId() + "-" + req.ifName() + ".json");
    }

    private void writeCache(PodNetworkRequest req, NetworkConfigList conf, JsonNode result) {
        ObjectNode o = JSON.createObjectNode();
        o.put("kind", "berth-cni-cache-v1");
        o.put("containerId", req.containerId());
        o.put("ifName", req.ifName());
        o.set("config", conf.toJson());
        o.set("result", result);
        ArrayNode pm = o.putArray("portMappings");
        for (PortMapping m : req.portMappings()) {
            pm.add(JSON.valueToTree(m));
        }
        Path f = cacheFile(req);
        try {
            Files.createDirectories(results);
            AtomicFiles.replace(f, JSON.writeValueAsBytes(o));
        } catch (IOException e) {
            throw BerthException.internal("cannot write the CNI result cache " + f + ": " + e.getMessage(), e);
        }
    }

    private Optional<ObjectNode> readCache(PodNetworkRequest req) {
        Path f = cacheFile(req);
        try {
            return Optional.of((ObjectNode) JSON.readTree(f.toFile()));
        } catch (java.io.FileNotFoundException | java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | ClassCastException e) {
            if (!Files.exists(f)) {
                return Optional.empty();
            }
            throw BerthException.internal("CNI result cache " + f + " is unreadable: " + e.getMessage(), e);
        }
    }

    private void deleteCache(PodNetworkRequest req) {
        try {
            Files.deleteIfExists(cacheFile(req));
        } catch (IOException e) {
            throw BerthException.internal("cannot delete " + cacheFile(req) + ": " + e.getMessage(), e);
        }
    }
}
