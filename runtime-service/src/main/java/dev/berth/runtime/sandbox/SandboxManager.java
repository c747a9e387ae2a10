package dev.berth.runtime.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.cni.CniNetworks;
import dev.berth.cni.PodNetworkRequest;
import dev.berth.cni.PortMapping;
import dev.berth.cni.result.CniResults;
import dev.berth.core.error.BerthException;
import dev.berth.core.state.StateStore;
import dev.berth.linux.Mounts;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.MountTable;
import dev.berth.runtime.container.PodContainers;
import dev.berth.runtime.store.IdLocks;
import dev.berth.runtime.userns.PodUserNamespace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Logger;
import dev.berth.core.timing.StepTimes;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodIP;
import runtime.v1.PodSandbox;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxFilter;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxNetworkStatus;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStatus;
import runtime.v1.PodSandboxStatusResponse;

/**
 * Pod sandbox lifecycle: run, stop, remove, status, list, and recovery after a restart.
 *
 * <p>RunPodSandbox writes a CREATING record to the pod's run dir first, then pins the namespaces, mounts /dev/shm,
 * makes the cgroup, applies sysctls, starts the PID-namespace infra when asked, attaches the
 * network through CNI and writes hosts/resolv.conf/hostname; each resource is recorded before it
 * is made, so a failure (or a kill -9, found by {@link #recover()}) undoes exactly what exists.
 * Stop and remove are idempotent and succeed for a pod whose set-up failed halfway.
 */
public final class SandboxManager implements SandboxLookup {
    private static final Logger LOG = Logger.getLogger(SandboxManager.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern HOSTNAME = Pattern.compile("[a-zA-Z0-9]([a-zA-Z0-9\\-.]{0,61}[a-zA-Z0-9])?");
    /**
     * Grace period for containers still running at StopPodSandbox: none. kubelet stops each
     * container with the pod's grace period before it stops the sandbox (containerd does the same).
     */
    private static final long STOP_TIMEOUT_SECONDS = 0;
    private static final java.util.concurrent.Executor BACKGROUND =
            java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    private final StateStore store;
    private final SandboxSettings settings;
    private final CniNetworks cni;
    private final Supplier<PodContainers> containers;
    private final PodCgroup cgroups;
    private final SandboxStore pods;
    private final MountTable mounts;
    private final NamespacePinner namespacePinner;
    private final UserNamespacePinner userNamespacePinner;
    private final InfraProcess infraProcesses;
    private final PodSysctls podSysctls;
    private final java.util.Set<CompletableFuture<Void>> persisting = ConcurrentHashMap.newKeySet();
    private volatile dev.berth.runtime.container.LifecycleListener listener =
            dev.berth.runtime.container.LifecycleListener.NONE;

    public SandboxManager(StateStore store, SandboxSettings settings, CniNetworks cni,
            Supplier<PodContainers> containers, LinuxHost host) {
        this.store = store;
        this.settings = settings;
        this.cni = cni;
        this.containers = containers;
        this.cgroups = new PodCgroup(host.cgroups(settings.cgroupMount()));
        this.pods = new SandboxStore(store, settings.runDir());
        this.mounts = host.mounts();
        this.namespacePinner = new NamespacePinner(host);
        this.userNamespacePinner = new UserNamespacePinner(host);
        this.infraProcesses = new InfraProcess(host.processes());
        this.podSysctls = new PodSysctls(host.procfs());
    }

    /** Where the pods' lifecycle events go (GetContainerEvents); the default drops them. */
    public void listen(dev.berth.runtime.container.LifecycleListener l) {
        this.listener = l == null ? dev.berth.runtime.container.LifecycleListener.NONE : l;
    }

    /** Tells the listener, with the pod's status as it is now (the record must still be known). */
    private void emit(dev.berth.runtime.container.LifecycleEvent.Type type, String id) {
        try {
            listener.on(dev.berth.runtime.container.LifecycleEvent.ofSandbox(type, id, status(id, false).getStatus()));
        } catch (RuntimeException e) {
            LOG.warning("lifecycle listener failed for pod " + id + ": " + e);
        }
    }

    /**
     * After a restart: pods caught in CREATING are undone and kept as NOTREADY (so kubelet can
     * remove them); READY pods whose namespaces or infra vanished become NOTREADY; network state
     * of no attached pod (leases, cached attachments) is released.
     */
    public void recover() {
        // pods a crash caught before their first durable write: only their pending file knows them
        for (SandboxRecord r : pods.loadPending()) {
            if (!r.state().equals(SandboxRecord.CREATING)) {
                save(r); // finished, but the daemon died before committing it
            }
        }
        for (SandboxRecord r : pods.list()) {
            if (r.state().equals(SandboxRecord.CREATING)) {
                try {
                    releaseResources(r);
                } catch (RuntimeException e) {
                    LOG.warning("recovering pod " + r.id() + ": " + e.getMessage());
                }
                save(r.withState(SandboxRecord.NOTREADY).withNetwork(false, r.podIps(), r.cniResult()));
            } else if (r.state().equals(SandboxRecord.READY)) {
                boolean netOk = r.hostNetwork() || namespacePinner.isPinned(Path.of(r.netns()));
                boolean infraOk = r.infraPid() == 0 || infraProcesses.isAlive(r.id(), r.infraPid());
                // a pod removed just before a crash: its directory went, its deferred row delete did not
                boolean dirOk = Files.isDirectory(Path.of(r.podDir()));
                if (!netOk || !infraOk || !dirOk) {
                    save(r.withState(SandboxRecord.NOTREADY));
                }
            }
        }
        // Every attached pod is known now: what a crash left of other attachments (a lease an ADD
        // cut short took, a teardown that failed) would otherwise be held forever.
        java.util.Set<String> attached = new java.util.HashSet<>();
        for (SandboxRecord r : pods.list()) {
            if (r.networkAttached()) {
                attached.add(r.id());
            }
        }
        try {
            for (String cleaned : cni.collectGarbage(attached)) {
                LOG.warning("released network state no pod holds: " + cleaned);
            }
        } catch (RuntimeException e) {
            LOG.warning("collecting the network state no pod holds: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ run

    public String run(PodSandboxConfig config, String requestedHandler) {
        if (!config.hasMetadata()) {
            throw BerthException.invalid("RunPodSandbox: config.metadata is required (name, namespace, uid)");
        }
        PodSandboxMetadata md = config.getMetadata();
        if (md.getName().isEmpty() || md.getNamespace().isEmpty() || md.getUid().isEmpty()) {
            throw BerthException.invalid("RunPodSandbox: metadata needs a name, a namespace and a uid (got name=%s "
                    + "namespace=%s uid=%s)", md.getName(), md.getNamespace(), md.getUid());
        }
        var podSecurity = config.getLinux().getSecurityContext();
        if (podSecurity.hasRunAsGroup() && !podSecurity.hasRunAsUser()) {
            // as containerd: a group without a user is refused for the pod as for its containers
            throw BerthException.invalid("RunPodSandbox: run_as_group is set without run_as_user");
        }
        String handler = requestedHandler == null || requestedHandler.isEmpty() ? settings.defaultHandler()
                : requestedHandler;
        if (!settings.runtimeHandlers().contains(handler)) {
            throw BerthException.invalid("unknown runtime handler \"%s\"; this node has %s", handler,
                    settings.runtimeHandlers().stream().sorted().toList());
        }
        NamespaceOption ns = config.getLinux().getSecurityContext().getNamespaceOptions();
        if (ns.getNetwork() == NamespaceMode.CONTAINER || ns.getNetwork() == NamespaceMode.TARGET
                || ns.getIpc() == NamespaceMode.CONTAINER || ns.getIpc() == NamespaceMode.TARGET) {
            throw BerthException.invalid("network and IPC namespace mode must be POD or NODE for a pod");
        }
        if (ns.getPid() == NamespaceMode.TARGET) {
            throw BerthException.invalid("PID namespace mode TARGET is not supported for a pod sandbox");
        }
        PodUserNamespace.forPod(ns); // validates userns_options (INVALID_ARGUMENT)
        boolean hostNetwork = ns.getNetwork() == NamespaceMode.NODE;
        boolean hostIpc = ns.getIpc() == NamespaceMode.NODE;
        boolean podPid = ns.getPid() == NamespaceMode.POD;
        Map<String, String> sysctls = config.getLinux().getSysctlsMap();
        PodSysctls.validate(sysctls, hostNetwork, hostIpc);
        String hostname = hostNetwork ? hostHostname()
                : config.getHostname().isEmpty() ? truncate(md.getName(), 63) : config.getHostname();
        if (!hostNetwork && !HOSTNAME.matcher(hostname).matches()) {
            throw BerthException.invalid("hostname \"%s\" is not a valid host name (letters, digits, '-', '.', at "
                    + "most 63)", hostname);
        }
        List<PortMapping> ports = new ArrayList<>();
        for (runtime.v1.PortMapping pm : config.getPortMappingsList()) {
            if (pm.getContainerPort() <= 0 || pm.getContainerPort() > 65535 || pm.getHostPort() < 0
                    || pm.getHostPort() > 65535) {
                throw BerthException.invalid("port mapping %d->%d is out of range 1..65535", pm.getHostPort(),
                        pm.getContainerPort());
            }
            if (pm.getHostPort() > 0 && !hostNetwork) {
                ports.add(new PortMapping(pm.getHostPort(), pm.getContainerPort(),
                        pm.getProtocol().name().toLowerCase(), pm.getHostIp()));
            }
        }
        String cgroupPath = PodCgroup.pathFor(config.getLinux().getCgroupParent(), "");

        String key = SandboxRecord.reservationKey(md.getName(), md.getNamespace(), md.getUid(), md.getAttempt());
        String id = HexFormat.of().formatHex(randomBytes());
        String existing = pods.reserve(key, id);
        if (existing != null) {
            throw BerthException.alreadyExists("a pod sandbox named %s (namespace %s, uid %s, attempt %d) already "
                    + "exists as %s; remove it first or use a new attempt", md.getName(), md.getNamespace(),
                    md.getUid(), md.getAttempt(), existing);
        }
        if (config.getLinux().getCgroupParent().isEmpty()) {
            cgroupPath = PodCgroup.pathFor("", id);
        }
        Path podDir = settings.runDir().resolve("pods").resolve(id);
        Path nsDir = podDir.resolve("ns");
        Instant now = Instant.now();
        // Written (as <pod dir>/pending.json) before touching the host: it names every resource the pod
        // may get (cgroup dirs to make, network to attach), so a crash at any later point is undone by
        // recover().
        SandboxRecord rec = new SandboxRecord(id, md.getName(), md.getNamespace(), md.getUid(), md.getAttempt(),
                SandboxRecord.CREATING, now.getEpochSecond() * 1_000_000_000L + now.getNano(), handler,
                Base64.getEncoder().encodeToString(config.toByteArray()), podDir.toString(),
                hostNetwork ? null : nsDir.resolve("net").toString(),
                hostIpc ? null : nsDir.resolve("ipc").toString(),
                hostNetwork ? null : nsDir.resolve("uts").toString(),
                hostIpc ? "/dev/shm" : podDir.resolve("shm").toString(),
                hostNetwork, cgroupPath, missingCgroups(cgroupPath), 0, 0, !hostNetwork, List.of(), null);
        try (IdLocks.Held lock = pods.lock(id)) {
            try {
                writePending(rec);
                rec = create(rec, config, hostname, sysctls, podPid, ports);
                emit(dev.berth.runtime.container.LifecycleEvent.Type.CREATED, id);
                emit(dev.berth.runtime.container.LifecycleEvent.Type.STARTED, id);
            } catch (RuntimeException e) {
                SandboxRecord last = pods.get(id).orElse(rec);
                try {
                    releaseResources(last);
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                forget(last);
                throw e instanceof BerthException b ? b.withContext("run pod sandbox " + md.getNamespace() + "/"
                        + md.getName()) : e;
            }
            return id;
        }
    }

    private SandboxRecord create(SandboxRecord rec, PodSandboxConfig config, String hostname,
            Map<String, String> sysctls, boolean podPid, List<PortMapping> ports) {
        Path podDir = Path.of(rec.podDir());
        StepTimes times = new StepTimes();
        try {
            Files.createDirectories(podDir);
        } catch (IOException e) {
            throw BerthException.internal("cannot create " + podDir + ": " + e.getMessage(), e);
        }
        Optional<PodUserNamespace> userns = userNamespace(config);
        if (userns.isPresent()) {
            userNamespacePinner.pin(podDir.resolve("ns"), userns.get(), hostname);
        } else {
            namespacePinner.pin(podDir.resolve("ns"), !rec.hostNetwork(), rec.ipcns() != null, !rec.hostNetwork(),
                    hostname);
        }
        if (rec.ipcns() != null) {
            Path shm = Path.of(rec.shm());
            try {
                Files.createDirectories(shm);
            } catch (IOException e) {
                throw BerthException.internal("cannot create " + shm + ": " + e.getMessage(), e);
            }
            mounts.mount("shm", shm, "tmpfs", Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC,
                    "mode=1777,size=65536k");
        }
        Failpoints.hit("sandbox-after-namespaces");
        times.step("namespaces");
        cgroups.create(rec.cgroupPath());
        podSysctls.apply(sysctls, rec.netns() == null ? null : Path.of(rec.netns()),
                rec.ipcns() == null ? null : Path.of(rec.ipcns()));
        times.step("cgroup-sysctls");
        String podId = rec.id();
        // The infra process starts while the network is set up: neither needs the other.
        Path infraUserns = userns.isPresent() ? UserNamespacePinner.userNamespaceFile(podDir.resolve("ns")) : null;
        CompletableFuture<InfraProcess.Started> infra = podPid
                ? CompletableFuture.supplyAsync(() -> infraProcesses.start(podId, infraUserns), BACKGROUND) : null;
        // resolv.conf and hostname do not depend on the network: written meanwhile too
        CompletableFuture<Void> files = CompletableFuture.runAsync(() -> {
            PodFiles.write(PodFiles.resolvConf(podDir), PodFiles.resolvContent(config.getDnsConfig()));
            PodFiles.write(PodFiles.hostname(podDir), hostname + "\n");
        }, BACKGROUND);
        List<String> ips = List.of();
        String resultJson = null;
        RuntimeException failure = null;
        try {
            if (!rec.hostNetwork()) {
                JsonNode result = cni.setUp(request(rec, config, ports));
                ips = CniResults.podIps(result);
                resultJson = result.toString();
                rec = remember(rec.withNetwork(true, ips, resultJson));
            }
        } catch (RuntimeException e) {
            failure = e;
        }
        times.step("network"); // veth, addresses, routes and firewall (the CNI ADD)
        Failpoints.hit("sandbox-after-network");
        if (infra != null) {
            try {
                InfraProcess.Started started = infra.join();
                // not persisted until READY: after a crash recover() finds it by its marker
                rec = remember(rec.withInfra(started.initPid(), started.parentPid()));
                // both: unshare --kill-child would take the init with it if systemd killed it
                moveIntoCgroup(rec, started.parentPid());
                moveIntoCgroup(rec, started.initPid());
                times.step("infra");
            } catch (java.util.concurrent.CompletionException e) {
                RuntimeException cause = e.getCause() instanceof RuntimeException r ? r
                        : BerthException.internal("start the infra process: " + e.getCause(), e.getCause());
                if (failure == null) {
                    failure = cause;
                } else {
                    failure.addSuppressed(cause);
                }
            }
        }
        if (failure != null) {
            files.exceptionally(e -> null).join(); // let it finish before the pod dir is deleted
            throw failure;
        }
        PodFiles.write(PodFiles.hosts(podDir), PodFiles.hostsContent(hostname, ips, rec.hostNetwork()));
        try {
            files.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
        times.step("files");
        Failpoints.hit("sandbox-before-ready");
        SandboxRecord ready = rec.withState(SandboxRecord.READY);
        // The pending file now says READY (survives kill -9 like the other run-dir state); the
        // synchronous StateStore commit follows off the caller's path, under the pod's lock, so a
        // stop or remove that comes first is never overtaken.
        writePending(ready);
        CompletableFuture<Void> f = CompletableFuture.runAsync(() -> persistLater(ready.id()), BACKGROUND);
        persisting.add(f);
        f.whenComplete((v, e) -> persisting.remove(f));
        times.step("commit");
        times.log(LOG, "RunPodSandbox " + ready.id());
        return ready;
    }

    /**
     * Waits until every finished RunPodSandbox is committed to the StateStore and every stop's
     * network teardown has finished (tests, shutdown).
     */
    public void flush() {
        for (CompletableFuture<Void> f : List.copyOf(persisting)) {
            f.join();
        }
        try {
            cni.awaitTeardowns();
        } catch (RuntimeException e) {
            LOG.warning("deleting a stopped pod's veth: " + e.getMessage() + " (it goes with the pod's removal)");
        }
    }

    private void persistLater(String id) {
        try (IdLocks.Held lock = pods.lock(id)) {
            pods.commit(id);
        } catch (RuntimeException e) {
            LOG.warning("persisting pod " + id + ": " + e.getMessage());
        }
    }

    private void moveIntoCgroup(SandboxRecord rec, int pid) {
        try {
            if (cgroups.isCgroup2()) {
                cgroups.addProcess(rec.cgroupPath(), pid);
            }
        } catch (BerthException e) {
            // the pod cgroup may lack controllers the process' current cgroup has; the infra
            // needs no limits, so it is left where it is
            LOG.warning("infra process " + pid + " of pod " + rec.id() + " stays in the daemon's cgroup: "
                    + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ stop / remove

    /** Stops containers, detaches the network, ends the infra; unknown ids are fine (CRI: idempotent). */
    public void stop(String id) {
        withRecordLocked(id, this::stopLocked);
    }

    /**
     * Runs {@code action} on the pod's current record under the pod's lock; an unknown id, or one
     * removed while waiting for the lock, is nothing to do (CRI: stop and remove are repeatable).
     */
    private void withRecordLocked(String id, Consumer<SandboxRecord> action) {
        if (!pods.contains(id)) {
            return;
        }
        try (IdLocks.Held lock = pods.lock(id)) {
            pods.get(id).ifPresent(action);
        }
    }

    private SandboxRecord stopLocked(SandboxRecord rec) {
        StepTimes times = new StepTimes();
        PodContainers pc = containers == null ? null : containers.get();
        if (pc != null) {
            pc.stopAll(rec.id(), STOP_TIMEOUT_SECONDS);
            times.step("containers");
        }
        boolean changed = false;
        // CNI DEL and ending the infra touch different things (the pinned netns stays until
        // remove), so the infra's kill and reaping overlap the network teardown
        CompletableFuture<Void> infra = null;
        if (rec.infraPid() > 0) {
            SandboxRecord r0 = rec;
            infra = CompletableFuture.runAsync(() -> infraProcesses.stop(r0.id(), r0.infraPid(),
                    r0.infraParentPid()), BACKGROUND);
        }
        if (rec.networkAttached()) {
            cni.tearDown(request(rec, config(rec), List.of()));
            rec = rec.withNetwork(false, rec.podIps(), rec.cniResult());
            changed = true;
            times.step("cni-del");
        }
        if (infra != null) {
            join(infra);
            times.step("infra-exit");
        }
        boolean stopped = false;
        if (!rec.state().equals(SandboxRecord.NOTREADY)) {
            rec = rec.withState(SandboxRecord.NOTREADY);
            changed = true;
            stopped = true;
        }
        SandboxRecord out = rec;
        if (changed) {
            // The pending file (run dir, replaced atomically) records the stop at once; recover()
            // prefers it over an older READY row. The synchronous StateStore commit follows off the
            // caller's path under the pod's lock, so a later remove is never overtaken by it.
            writePending(rec);
            String id = rec.id();
            CompletableFuture<Void> f = CompletableFuture.runAsync(() -> persistLater(id), BACKGROUND);
            persisting.add(f);
            f.whenComplete((v, e) -> persisting.remove(f));
            times.step("commit");
        }
        if (stopped) {
            emit(dev.berth.runtime.container.LifecycleEvent.Type.STOPPED, rec.id());
        }
        if (changed) { // a repeated stop (as RemovePodSandbox's) did nothing worth timing
            times.log(LOG, "StopPodSandbox " + rec.id());
        }
        return out;
    }

    private static void join(CompletableFuture<Void> f) {
        try {
            f.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw e;
        }
    }

    /** Stops if needed, removes containers and every resource of the pod; unknown ids are fine. */
    public void remove(String id) {
        if (!pods.contains(id)) {
            return;
        }
        withRecordLocked(id, current -> {
            StepTimes times = new StepTimes();
            SandboxRecord rec = stopLocked(current);
            times.step("stop");
            PodContainers pc = containers == null ? null : containers.get();
            if (pc != null) {
                pc.removeAll(id);
                times.step("containers");
            }
            releaseResources(rec);
            times.step("release");
            emit(dev.berth.runtime.container.LifecycleEvent.Type.DELETED, rec.id());
            // the synchronous StateStore delete (an fsync) is off the caller's path; see forgetInMemory
            pods.forgetInMemory(rec);
            CompletableFuture<Void> f = CompletableFuture.runAsync(() -> deleteStored(id), BACKGROUND);
            persisting.add(f);
            f.whenComplete((v, e) -> persisting.remove(f));
            times.step("commit");
            times.log(LOG, "RemovePodSandbox " + id);
        });
    }

    /** Undoes whatever of the pod exists on the host; every step accepts "already gone". */
    private void releaseResources(SandboxRecord rec) {
        List<String> errors = new ArrayList<>();
        if (rec.networkAttached()) {
            step(errors, () -> cni.tearDown(request(rec, config(rec), List.of())));
        }
        if (rec.infraPid() > 0) {
            step(errors, () -> infraProcesses.stop(rec.id(), rec.infraPid(), rec.infraParentPid()));
        } else if (rec.state().equals(SandboxRecord.CREATING)) {
            // a crash between starting the infra and recording it
            for (int pid : infraProcesses.findByMarker(rec.id())) {
                step(errors, () -> infraProcesses.stop(rec.id(), pid, 0));
            }
        }
        for (String f : new String[] {rec.netns(), rec.ipcns(), rec.utsns()}) {
            if (f != null) {
                step(errors, () -> namespacePinner.unpin(Path.of(f)));
            }
        }
        // pinned only for pods with userns mode POD; unpinning what is not there is a no-op
        step(errors, () -> namespacePinner.unpin(UserNamespacePinner.userNamespaceFile(
                Path.of(rec.podDir()).resolve("ns"))));
        if (rec.ipcns() != null && rec.shm() != null) {
            step(errors, () -> mounts.ensureUnmounted(Path.of(rec.shm())));
        }
        step(errors, () -> cgroups.removeLeaves(rec.cgroupPath())); // also in a pod cgroup kubelet made
        step(errors, () -> cgroups.remove(rec.createdCgroups()));
        step(errors, () -> cgroups.removeDefaultParentsIfUnused(rec.cgroupPath()));
        step(errors, () -> deleteTree(Path.of(rec.podDir())));
        if (!errors.isEmpty()) {
            throw BerthException.internal("cleaning up pod " + rec.id() + ": " + String.join("; ", errors), null);
        }
    }

    private static void step(List<String> errors, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            errors.add(e.getMessage());
        }
    }

    // ------------------------------------------------------------------ resources

    /**
     * UpdatePodSandboxResources: {@code applyToCgroup} writes the limits to the pod cgroup (given its
     * path), then the pod's config keeps the new overhead and resources so PodSandboxStatus (verbose)
     * reports what is in effect. NOT_FOUND for an unknown pod, FAILED_PRECONDITION for one not ready.
     */
    public void updateResources(String id, runtime.v1.LinuxContainerResources overhead,
            runtime.v1.LinuxContainerResources resources, Consumer<String> applyToCgroup) {
        if (!pods.contains(id)) {
            throw BerthException.notFound("pod sandbox %s does not exist", id);
        }
        boolean[] done = {false};
        withRecordLocked(id, rec -> {
            if (!rec.state().equals(SandboxRecord.READY)) {
                throw BerthException.precondition("pod sandbox %s is not ready; its resources cannot be updated", id);
            }
            applyToCgroup.accept(rec.cgroupPath());
            PodSandboxConfig c = config(rec);
            runtime.v1.LinuxPodSandboxConfig.Builder linux = c.getLinux().toBuilder();
            if (overhead != null) {
                linux.setOverhead(overhead);
            }
            if (resources != null) {
                linux.setResources(c.getLinux().getResources().toBuilder().mergeFrom(resources));
            }
            save(rec.withConfig(Base64.getEncoder().encodeToString(c.toBuilder().setLinux(linux).build()
                    .toByteArray())));
            done[0] = true;
        });
        if (!done[0]) {
            throw BerthException.notFound("pod sandbox %s does not exist", id);
        }
    }

    // ------------------------------------------------------------------ status / list / lookup

    /** PodSandboxStatus from the pod's snapshot: never waits for a lifecycle step. */
    public PodSandboxStatusResponse status(String id, boolean verbose) {
        SandboxRecord rec = pods.get(id).orElseThrow(() -> BerthException.notFound("pod sandbox %s does not exist",
                id));
        PodSandboxConfig config = config(rec);
        PodSandboxStatus.Builder st = PodSandboxStatus.newBuilder()
                .setId(rec.id())
                .setMetadata(config.getMetadata())
                .setState(state(rec))
                .setCreatedAt(rec.createdAtNanos())
                .putAllLabels(config.getLabelsMap())
                .putAllAnnotations(config.getAnnotationsMap())
                .setRuntimeHandler(rec.runtimeHandler());
        PodSandboxNetworkStatus.Builder net = PodSandboxNetworkStatus.newBuilder();
        if (!rec.podIps().isEmpty()) {
            net.setIp(rec.podIps().get(0));
            for (String ip : rec.podIps().subList(1, rec.podIps().size())) {
                net.addAdditionalIps(PodIP.newBuilder().setIp(ip));
            }
        }
        st.setNetwork(net);
        st.setLinux(runtime.v1.LinuxPodSandboxStatus.newBuilder().setNamespaces(runtime.v1.Namespace.newBuilder()
                .setOptions(config.getLinux().getSecurityContext().getNamespaceOptions())));
        PodSandboxStatusResponse.Builder resp = PodSandboxStatusResponse.newBuilder().setStatus(st)
                .setTimestamp(System.currentTimeMillis() * 1_000_000L);
        if (verbose) {
            resp.putInfo("info", verboseInfo(rec));
        }
        return resp.build();
    }

    private String verboseInfo(SandboxRecord rec) {
        ObjectNode info = JSON.createObjectNode();
        info.put("id", rec.id());
        info.put("state", rec.state());
        info.put("runtimeHandler", rec.runtimeHandler());
        info.put("podDir", rec.podDir());
        info.put("cgroupPath", rec.cgroupPath());
        info.put("hostNetwork", rec.hostNetwork());
        info.put("pid", rec.infraPid());
        ObjectNode nss = info.putObject("namespaces");
        nss.put("network", rec.netns());
        nss.put("ipc", rec.ipcns());
        nss.put("uts", rec.utsns());
        nss.put("pid", rec.infraPid() > 0 ? InfraProcess.pidNamespace(rec.infraPid()).toString() : null);
        nss.put("user", userNamespace(config(rec)).isPresent()
                ? UserNamespacePinner.userNamespaceFile(Path.of(rec.podDir()).resolve("ns")).toString() : null);
        info.put("shm", rec.shm());
        PodSandboxConfig cfg = config(rec);
        if (cfg.getLinux().hasResources() || cfg.getLinux().hasOverhead()) {
            ObjectNode res = info.putObject("resources");
            res.set("resources", resourcesJson(cfg.getLinux().getResources()));
            res.set("overhead", resourcesJson(cfg.getLinux().getOverhead()));
        }
        if (rec.cniResult() != null) {
            try {
                info.set("cniResult", JSON.readTree(rec.cniResult()));
            } catch (IOException e) {
                info.put("cniResult", rec.cniResult());
            }
        }
        return info.toString();
    }

    /** The pod-level limits as kubelet's names them (PodSandboxStatus verbose). */
    private static ObjectNode resourcesJson(runtime.v1.LinuxContainerResources r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("cpu_period", r.getCpuPeriod());
        o.put("cpu_quota", r.getCpuQuota());
        o.put("cpu_shares", r.getCpuShares());
        o.put("memory_limit_in_bytes", r.getMemoryLimitInBytes());
        o.put("memory_swap_limit_in_bytes", r.getMemorySwapLimitInBytes());
        o.put("cpuset_cpus", r.getCpusetCpus());
        o.put("cpuset_mems", r.getCpusetMems());
        ObjectNode huge = o.putObject("hugepage_limits");
        r.getHugepageLimitsList().forEach(h -> huge.put(h.getPageSize(), h.getLimit()));
        ObjectNode unified = o.putObject("unified");
        r.getUnifiedMap().forEach(unified::put);
        return o;
    }

    /** ListPodSandbox from snapshots: never waits for a lifecycle step. */
    public List<PodSandbox> list(PodSandboxFilter filter) {
        Stream<SandboxRecord> s = pods.list().stream();
        if (filter != null) {
            if (!filter.getId().isEmpty()) {
                s = s.filter(r -> r.id().startsWith(filter.getId()));
            }
            if (filter.hasState()) {
                s = s.filter(r -> state(r) == filter.getState().getState());
            }
        }
        List<PodSandbox> out = new ArrayList<>();
        for (SandboxRecord r : s.sorted(Comparator.comparingLong(SandboxRecord::createdAtNanos)).toList()) {
            PodSandboxConfig c = config(r);
            if (filter != null && !filter.getLabelSelectorMap().isEmpty()
                    && !filter.getLabelSelectorMap().entrySet().stream()
                            .allMatch(e -> e.getValue().equals(c.getLabelsMap().get(e.getKey())))) {
                continue;
            }
            out.add(PodSandbox.newBuilder().setId(r.id()).setMetadata(c.getMetadata()).setState(state(r))
                    .setCreatedAt(r.createdAtNanos()).putAllLabels(c.getLabelsMap())
                    .putAllAnnotations(c.getAnnotationsMap()).setRuntimeHandler(r.runtimeHandler()).build());
        }
        return out;
    }

    @Override
    public Optional<SandboxView> find(String sandboxId) {
        return pods.get(sandboxId).map(this::view);
    }

    /**
     * The pod held shared (CreateContainer): StopPodSandbox and RemovePodSandbox wait until the
     * container is recorded, then find it; a pod removed first is not found.
     */
    @Override
    public Optional<Held> hold(String sandboxId) {
        if (sandboxId == null || !pods.contains(sandboxId)) {
            return Optional.empty();
        }
        IdLocks.Held shared = pods.share(sandboxId);
        Optional<SandboxView> view = find(sandboxId);
        if (view.isEmpty()) {
            shared.close();
            return Optional.empty();
        }
        return Optional.of(new Held(view.get(), shared::close));
    }

    private SandboxView view(SandboxRecord r) {
        Path podDir = Path.of(r.podDir());
        PodSandboxConfig config = config(r);
        return new SandboxView(r.id(), config, r.state().equals(SandboxRecord.READY),
                r.runtimeHandler(), path(r.netns()), path(r.ipcns()), path(r.utsns()),
                r.infraPid() > 0 ? InfraProcess.pidNamespace(r.infraPid()) : null, r.cgroupPath(),
                PodFiles.hosts(podDir), PodFiles.resolvConf(podDir), PodFiles.hostname(podDir), path(r.shm()),
                userNamespace(config).isPresent() ? UserNamespacePinner.userNamespaceFile(podDir.resolve("ns")) : null);
    }

    /** Ids of every known pod (for the container side's recovery and for tests). */
    public List<String> ids() {
        return pods.list().stream().map(SandboxRecord::id).toList();
    }

    // ------------------------------------------------------------------ helpers

    private static PodSandboxState state(SandboxRecord r) {
        return r.state().equals(SandboxRecord.READY) ? PodSandboxState.SANDBOX_READY
                : PodSandboxState.SANDBOX_NOTREADY;
    }

    private PodNetworkRequest request(SandboxRecord rec, PodSandboxConfig config, List<PortMapping> ports) {
        PodSandboxMetadata md = config.getMetadata();
        return new PodNetworkRequest(rec.id(), rec.netns() == null ? null : Path.of(rec.netns()), "eth0",
                md.getName(), md.getNamespace(), md.getUid(), ports);
    }

    private static Optional<PodUserNamespace> userNamespace(PodSandboxConfig config) {
        return PodUserNamespace.forPod(config.getLinux().getSecurityContext().getNamespaceOptions());
    }

    private PodSandboxConfig config(SandboxRecord rec) {
        return pods.config(rec);
    }

    private List<String> missingCgroups(String cgroupPath) {
        List<String> out = new ArrayList<>();
        Path dir = settings.cgroupMount();
        StringBuilder rel = new StringBuilder();
        for (String part : cgroupPath.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            dir = dir.resolve(part);
            rel.append('/').append(part);
            if (!Files.isDirectory(dir)) {
                out.add(rel.toString());
            }
        }
        return out;
    }

    private SandboxRecord save(SandboxRecord r) {
        return pods.save(r);
    }

    /**
     * The first record of a new pod, written to its run dir before anything else is made: a crash
     * from here on is found by {@link #recover()} (the durable StateStore write comes once, at READY,
     * saving a synchronous commit per RunPodSandbox).
     */
    private void writePending(SandboxRecord r) {
        pods.writePending(r);
    }

    /** Keeps progress in memory only (the failure path undoes from it); the next save persists it. */
    private SandboxRecord remember(SandboxRecord r) {
        return pods.remember(r);
    }

    private void deleteStored(String id) {
        try {
            pods.deleteStored(id);
        } catch (RuntimeException e) {
            LOG.warning("deleting the stored record of removed pod " + id + ": " + e.getMessage());
        }
    }

    private void forget(SandboxRecord r) {
        pods.forget(r);
    }

    /** Pods whose lock is held or waited for now (tests: the lock map keeps no others). */
    public int lockedPods() {
        return pods.lockCount();
    }

    private static Path path(String s) {
        return s == null ? null : Path.of(s);
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return b;
    }

    private static String truncate(String s, int max) {
        String t = s.length() > max ? s.substring(0, max) : s;
        return t.replaceAll("[^a-zA-Z0-9\\-.]", "-").replaceAll("^[-.]+|[-.]+$", "");
    }

    private static String hostHostname() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException e) {
            return "localhost";
        }
    }

    /** Deletes the pod dir; refuses to cross into anything still mounted (rmdir fails with EBUSY). */
    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw BerthException.internal("cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }
}
