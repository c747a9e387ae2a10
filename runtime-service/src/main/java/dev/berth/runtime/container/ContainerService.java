package dev.berth.runtime.container;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.image.ImageLease;
import dev.berth.image.ImageLookup;
import dev.berth.image.LocalImage;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.ProcessTable;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.container.ContainerRecord.Phase;
import dev.berth.runtime.checkpoint.CheckpointSource;
import dev.berth.runtime.checkpoint.ContainerCheckpoint;
import dev.berth.runtime.checkpoint.ContainerRestore;
import dev.berth.runtime.checkpoint.CriuSupport;
import dev.berth.runtime.checkpoint.RestoredCgroup;
import dev.berth.runtime.exec.ExecRunner;
import dev.berth.runtime.logs.LogPaths;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntime;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.runtime.sandbox.PodCgroup;
import dev.berth.runtime.sandbox.SandboxLookup;
import dev.berth.runtime.sandbox.SandboxView;
import dev.berth.runtime.spec.NamespaceSpec;
import dev.berth.runtime.spec.SpecBuilder;
import dev.berth.runtime.userns.PodUserNamespace;
import dev.berth.runtime.spec.SpecContext;
import dev.berth.runtime.store.IdLocks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.logging.Level;
import java.util.logging.Logger;
import dev.berth.core.timing.StepTimes;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerFilter;
import runtime.v1.LinuxContainerResources;

/**
 * The container lifecycle: CRI config to OCI bundle on an overlay root filesystem, run by an OCI
 * runtime under conmon, with metadata in the state store so that a restarted daemon finds every
 * container again (see {@link #recover()}). The records, names and locks are the
 * {@link ContainerStore}'s: each lifecycle step holds the container's lock, while status and list
 * read snapshots and never wait for a step (a stop waiting out its grace period included).
 */
public final class ContainerService implements dev.berth.runtime.container.PodContainers {
    private static final Logger LOG = Logger.getLogger(ContainerService.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Everything the service is built from. */
    public record Settings(Path containersRoot, Path seccompDefaultProfile, boolean apparmorEnabled,
            int maxExecOutputBytes) {}

    private final ContainerStore containers;
    private final ImageLookup images;
    private final SandboxLookup sandboxes;
    private final OciRuntimes runtimes;
    private final Conmon conmon;
    private final CgroupManager cgroups;
    private final Settings settings;
    private final ExecRunner exec;
    private final ProcessTable processes;
    private final RootFs rootFs;
    private final UserNamespaceMounts userNamespaceMounts;
    /** What a container can be granted at most: the daemon's own capabilities (fixed for its life). */
    private final java.util.Set<String> daemonCapabilities = dev.berth.linux.Capabilities.ofSelf();
    /** Containers whose end a thread is about to commit (see noticeExit). */
    private final java.util.Set<String> endsInFlight = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile LifecycleListener listener = LifecycleListener.NONE;

    public ContainerService(StateStore store, ImageLookup images, SandboxLookup sandboxes, OciRuntimes runtimes,
            Conmon conmon, CgroupManager cgroups, Settings settings, LinuxHost host) {
        this.containers = new ContainerStore(store);
        this.images = images;
        this.sandboxes = sandboxes;
        this.runtimes = runtimes;
        this.conmon = conmon;
        this.cgroups = cgroups;
        this.settings = settings;
        this.exec = new ExecRunner(conmon, settings.maxExecOutputBytes());
        this.processes = host.processes();
        this.rootFs = new RootFs(host.mounts());
        this.userNamespaceMounts = rootFs.idmapped();
    }

    /** Where lifecycle events go (GetContainerEvents); the default drops them. */
    public void listen(LifecycleListener l) {
        this.listener = l == null ? LifecycleListener.NONE : l;
    }

    private void emit(LifecycleEvent.Type type, ContainerRecord r) {
        try {
            listener.on(LifecycleEvent.ofContainer(type, r));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "lifecycle listener failed", e);
        }
    }

    // ---- create ----

    /** CreateContainer: returns the new container's id. */
    public String create(String podId, ContainerConfig config) {
        if (podId.isEmpty()) {
            throw BerthException.invalid("pod_sandbox_id is empty");
        }
        if (config.getMetadata().getName().isEmpty()) {
            throw BerthException.invalid("container metadata.name is empty");
        }
        // The pod is held (shared) until the container is recorded: a RemovePodSandbox waits for
        // it and then finds the container, and a create that comes after the removal finds no pod.
        try (SandboxLookup.Held held = sandboxes.hold(podId).orElseThrow(() -> BerthException.notFound(
                "pod sandbox %s does not exist; run it first (RunPodSandbox)", podId))) {
            return create(held.view(), config);
        }
    }

    private String create(SandboxView pod, ContainerConfig config) {
        String podId = pod.id();
        if (!pod.ready()) {
            throw BerthException.precondition("pod sandbox %s is not ready; containers can only be created in a "
                    + "running pod", podId);
        }
        String imageRefText = config.getImage().getImage();
        if (imageRefText.isEmpty()) {
            throw BerthException.invalid("container %s: image is empty", config.getMetadata().getName());
        }
        Optional<PodUserNamespace> userns = PodUserNamespace.forContainer(
                config.getLinux().getSecurityContext().getNamespaceOptions(),
                pod.config().getLinux().getSecurityContext().getNamespaceOptions());
        // CRI-O's conventions: an image that is the path of a checkpoint archive, or an image marked as
        // a checkpoint, restores that container onto the image it ran. The image's layers are leased
        // until the overlay is mounted (the mount keeps them after): a RemoveImage meanwhile waits
        // instead of emptying a lowerdir.
        ImageLease lease = CheckpointSource.isPath(imageRefText) ? null : images.lease(imageRefText).orElse(null);
        try {
            Optional<CheckpointSource> restoreFrom = CheckpointSource.detect(imageRefText,
                    Optional.ofNullable(lease).map(ImageLease::image));
            restoreFrom.ifPresent(c -> CriuSupport.host().require("restoring a container from checkpoint " + c.origin()));
            String imageWanted = restoreFrom.map(CheckpointSource::baseImage).orElse(imageRefText);
            if (restoreFrom.isPresent() && lease != null) {
                lease.close(); // the checkpoint image itself; the base image is what gets mounted
                lease = null;
            }
            if (lease == null) {
                lease = images.lease(imageWanted).orElseThrow(() -> BerthException.notFound(
                        "image %s is not present on this node; pull it first (PullImage)", imageWanted));
            }
            return create(pod, config, userns, restoreFrom, imageRefText, imageWanted, lease);
        } finally {
            if (lease != null) {
                lease.close();
            }
        }
    }

    private String create(SandboxView pod, ContainerConfig config, Optional<PodUserNamespace> userns,
            Optional<CheckpointSource> restoreFrom, String imageRefText, String imageWanted,
            ImageLease lease) {
        String podId = pod.id();
        LocalImage image = lease.image();
        Path logPath = LogPaths.resolve(pod.config().getLogDirectory(), config.getLogPath());
        OciRuntime runtime = runtimes.forHandler(pod.runtimeHandler());
        LinuxContainerResources resources = config.getLinux().getResources();
        Map<String, Map<String, String>> limits = cgroups.plan(resources);

        String id = HexFormat.of().formatHex(randomBytes());
        String cgroup = cgroups.driver().containerCgroup(pod.cgroupPath(), id);
        String stopSignal = stopSignal(config, image);
        ContainerRecord rec = new ContainerRecord(id, podId, config.getMetadata().getName(),
                config.getMetadata().getAttempt(), imageWanted, image.id(), imageRef(image), config.getLabelsMap(),
                config.getAnnotationsMap(), Phase.CREATING, System.currentTimeMillis() * 1_000_000L, 0, 0, 0, "", "", 0,
                runtime.handler(), cgroup, logPath == null ? "" : logPath.toString(), stopSignal, 0, 0,
                List.of(), ContainerRecord.encode(config), ContainerRecord.encode(resources));
        IdLocks.Held lock = containers.lock(id);
        String taken = containers.reserve(rec);
        if (taken != null) {
            lock.close();
            throw BerthException.alreadyExists("container %s (attempt %d) already exists in pod %s as %s; "
                    + "remove it first", config.getMetadata().getName(), config.getMetadata().getAttempt(), podId,
                    taken);
        }
        // The CREATING record's commit (an fsync) overlaps preparing the container's own directory
        // (overlay mount, config.json): a crash before the commit leaves only that directory, which
        // recover() removes as it has no record. Everything outside it (cgroup, runtime state,
        // monitor) is made only once the record is durable, so the record leads to those leftovers.
        ContainerRecord creating = rec;
        CompletableFuture<Void> committed = CompletableFuture.runAsync(
                () -> containers.persist(creating), COMMITS);
        StepTimes times = new StepTimes();
        try {
            ContainerPaths paths = ContainerPaths.of(settings.containersRoot(), id);
            if (userns.isPresent()) {
                userNamespaceMounts.mountRootFs(paths, image.lowerDirs(), pod.userNamespacePath(), userns.get());
            } else {
                rootFs.mount(paths, image.lowerDirs());
            }
            lease.close(); // the mount holds the layers now (garbage collection keeps mounted lowerdirs)
            times.step("mount");
            ObjectNode spec = SpecBuilder.build(new SpecContext(id, config, pod, image, paths.rootfs(),
                    cgroups.driver().ociCgroupsPath(cgroup), settings.seccompDefaultProfile(), ownOomScoreAdj(),
                    settings.apparmorEnabled(), targetPidNamespace(config, podId), runtime.features(), daemonCapabilities));
            if (userns.isPresent()) {
                userNamespaceMounts.idmapBinds(spec, paths, pod.userNamespacePath());
            }
            if (restoreFrom.isPresent()) {
                ContainerRestore.prepare(restoreFrom.get(), paths.dir(), paths.rootfs(), spec);
            }
            dev.berth.core.fs.OwnerOnly.writeFile(paths.configJson(), SpecBuilder.JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(spec));
            Files.createDirectories(paths.persist());
            times.step("spec");
            awaitCommit(committed);
            times.step("commit-creating");
            cgroups.create(cgroup);
            cgroups.apply(cgroup, limits);
            times.step("cgroup");
            Path monitorLog = logPath != null ? logPath : paths.persist().resolve("container.log");
            Files.createDirectories(monitorLog.getParent());
            int pid = restoreFrom.isPresent() ? 0 : conmon.create(new Conmon.Launch(id, config.getMetadata().getName(), paths.bundle(),
                    paths.persist(), monitorLog, runtime, config.getTty(), config.getStdin(),
                    config.getStdinOnce(), cgroups.dir(PodCgroup.monitorCgroup(cgroup))));
            times.step("conmon-runc-create");
            // the runtime has made the container's mounts: the idmapped views are no longer needed
            userNamespaceMounts.releaseBinds(paths);
            ObjectNode user = (ObjectNode) spec.path("process").path("user");
            List<Long> gids = new ArrayList<>();
            user.path("additionalGids").forEach(g -> gids.add(g.asLong()));
            rec = new ContainerRecord(id, podId, rec.name(), rec.attempt(), rec.image(), rec.imageId(),
                    rec.imageRef(), rec.labels(), rec.annotations(), Phase.CREATED, rec.createdAt(), 0, 0, 0, "", "",
                    pid, rec.handler(), cgroup, rec.logPath(), stopSignal, user.path("uid").asLong(),
                    user.path("gid").asLong(), gids, rec.config(), rec.resources());
            containers.put(rec);
            times.step("commit");
            emit(LifecycleEvent.Type.CREATED, rec);
            times.log(LOG, "CreateContainer " + id);
            return id;
        } catch (RuntimeException | IOException e) {
            // Cleanup deletes the record: only after its write has finished, or the write could
            // bring it back.
            try {
                awaitCommit(committed);
            } catch (RuntimeException ce) {
                if (ce != e) {
                    e.addSuppressed(ce);
                }
            }
            try {
                cleanup(rec);
            } catch (RuntimeException ce) {
                e.addSuppressed(ce);
            }
            if (e instanceof BerthException b) {
                throw b.withContext("create container " + config.getMetadata().getName());
            }
            if (e instanceof java.nio.file.InvalidPathException bad) { // a NUL or the like in a request's path
                throw BerthException.invalid("create container %s: a path in the request is not valid: %s",
                        config.getMetadata().getName(), bad.getMessage());
            }
            throw BerthException.internal("create container " + config.getMetadata().getName() + ": " + e, e);
        } finally {
            lock.close();
        }
    }

    /** Runs the CREATING record's commit beside the rest of CreateContainer (virtual threads). */
    private static final java.util.concurrent.Executor COMMITS = runnable -> Thread.ofVirtual()
            .name("container-commit").start(runnable);

    /** Waits for an overlapped store write; its failure is rethrown as it was raised. */
    private static void awaitCommit(CompletableFuture<Void> committed) {
        try {
            committed.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw BerthException.internal("state store write failed: " + e.getCause(), e.getCause());
        }
    }

    // ---- start / stop / remove ----

    public void start(String id) {
        withLock(id, () -> {
            ContainerRecord rec = refresh(get(id));
            if (rec.phase() != Phase.CREATED) {
                throw BerthException.precondition("container %s is %s, not created; only a created container "
                        + "can be started", id, rec.phase().name().toLowerCase());
            }
            // Taken before the call: a short-lived process may exit before runc start returns.
            long startedAt = now();
            StepTimes times = new StepTimes();
            ContainerPaths paths = ContainerPaths.of(settings.containersRoot(), id);
            Optional<Path> restoreImages = ContainerRestore.pendingImages(paths.dir());
            try {
                if (restoreImages.isPresent()) {
                    rec = rec.created(restoreFromCheckpoint(rec, paths, restoreImages.get()));
                } else {
                    runtimes.forHandler(rec.handler()).start(id);
                }
            } catch (BerthException e) {
                ContainerRecord failed = rec.exited(now(), 128, "StartError", e.getMessage());
                containers.put(failed);
                emit(LifecycleEvent.Type.STOPPED, failed);
                throw e.withContext("start container " + id);
            }
            times.step("runc-start");
            ContainerRecord running = rec.started(startedAt);
            containers.put(running);
            times.step("commit");
            emit(LifecycleEvent.Type.STARTED, running);
            times.log(LOG, "StartContainer " + id);
            return null;
        });
    }

    /** Runs {@code runc restore} under a new monitor; returns the restored init's pid. */
    private int restoreFromCheckpoint(ContainerRecord rec, ContainerPaths paths, Path images) {
        CriuSupport.host().require("restoring container " + rec.id() + " from its checkpoint");
        ContainerConfig config = rec.configProto();
        Path monitorLog = rec.logPath().isEmpty() ? paths.persist().resolve("container.log") : Path.of(rec.logPath());
        try {
            Files.createDirectories(monitorLog.getParent());
            int pid = conmon.restore(new Conmon.Launch(rec.id(), rec.name(), paths.bundle(), paths.persist(),
                    monitorLog, runtimes.forHandler(rec.handler()), config.getTty(), config.getStdin(),
                    config.getStdinOnce(), cgroups.dir(PodCgroup.monitorCgroup(rec.cgroup()))), images, ContainerRestore.workDir(paths.dir()));
            RestoredCgroup.adopt(cgroups, pid, rec.cgroup());
            return pid;
        } catch (IOException e) {
            throw BerthException.internal("restore of container " + rec.id() + ": " + e, e);
        }
    }

    /**
     * CheckpointContainer: CRIU dumps the running container (left running) into a checkpoint
     * archive at {@code location}.
     */
    public void checkpoint(String id, String location, long timeoutSeconds) {
        get(id);
        Path archive = ContainerCheckpoint.location(location);
        ContainerCheckpoint.Source source = checkpointSource(id);
        CriuSupport.host().require("checkpointing container " + id);
        ContainerCheckpoint.write(source, archive, timeoutSeconds, CriuSupport.host());
    }

    /**
     * What a checkpoint of the running container {@code id} reads (CheckpointContainer, and
     * CheckpointPod for each of its containers); FAILED_PRECONDITION when it is not running.
     */
    public ContainerCheckpoint.Source checkpointSource(String id) {
        // Checked under the lock, dumped outside it: status and list calls go on meanwhile; a
        // concurrent stop or remove makes the runtime's checkpoint fail, which is reported.
        ContainerRecord rec = withLock(id, () -> refresh(get(id)));
        if (rec.phase() != Phase.RUNNING) {
            throw BerthException.precondition("container %s is %s, not running; only a running container can be "
                    + "checkpointed", id, rec.phase().name().toLowerCase());
        }
        ContainerPaths paths = ContainerPaths.of(settings.containersRoot(), id);
        return new ContainerCheckpoint.Source(id, rec.name(), rec.image(), rec.imageId(), rec.imageRef(),
                rec.handler(), rec.createdAt(), paths.dir(), paths.configJson(), paths.upper(),
                runtimes.forHandler(rec.handler()), rec.podId());
    }

    /**
     * StopContainer: the stop signal, up to {@code timeoutSeconds}, then SIGKILL. Repeatable, and
     * an unknown id (whatever it looks like) is already stopped: CRI asks stop to be idempotent.
     */
    public void stop(String id, long timeoutSeconds) {
        if (!validId(id) || containers.get(id).isEmpty()) {
            return;
        }
        withLock(id, () -> {
            containers.get(id)
                    .ifPresent(rec -> stopLocked(refresh(rec), timeoutSeconds));
            return null;
        });
    }

    private ContainerRecord stopLocked(ContainerRecord rec, long timeoutSeconds) {
        if (rec.phase() != Phase.RUNNING && rec.phase() != Phase.CREATED) {
            return rec;
        }
        OciRuntime rt = runtimes.forHandler(rec.handler());
        ContainerPaths paths = ContainerPaths.of(settings.containersRoot(), rec.id());
        if (timeoutSeconds > 0 && rec.phase() == Phase.RUNNING) {
            rt.kill(rec.id(), rec.stopSignal());
            if (awaitExit(rec, paths, timeoutSeconds * 1000)) {
                return refresh(rec);
            }
        }
        rt.kill(rec.id(), "KILL");
        if (!awaitExit(rec, paths, 10_000)) {
            throw BerthException.internal("container " + rec.id() + " did not exit 10s after SIGKILL", null);
        }
        return refresh(rec);
    }

    private boolean awaitExit(ContainerRecord rec, ContainerPaths paths, long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        // most killed containers are gone within a few ms: check again soon, then less often
        long sleep = 1;
        while (System.nanoTime() < deadline) {
            if (conmon.exit(rec.id(), paths.persist()).isPresent()) {
                return true;
            }
            if (conmon.monitorPid(paths.persist()).isEmpty() && !alive(rec)) {
                return true;
            }
            sleep(sleep);
            sleep = Math.min(sleep * 2, 50);
        }
        return false;
    }

    /** RemoveContainer: kills it if running and removes everything; unknown ids are fine. */
    public void remove(String id) {
        if (!validId(id)) {
            return;
        }
        withLock(id, () -> {
            Optional<ContainerRecord> found = containers.get(id);
            if (found.isEmpty()) {
                return null;
            }
            ContainerRecord rec = found.get();
            if (rec.phase() == Phase.RUNNING || rec.phase() == Phase.CREATED) {
                rec = stopLocked(refresh(rec), 0);
            }
            containers.put(rec.withPhase(Phase.REMOVING));
            cleanup(rec);
            emit(LifecycleEvent.Type.DELETED, rec);
            return null;
        });
    }

    /** Removes whatever exists of a container (runtime state, mount, cgroup, files), then its record. */
    private void cleanup(ContainerRecord rec) {
        ContainerPaths paths = ContainerPaths.of(settings.containersRoot(), rec.id());
        OciRuntime rt = runtimes.forHandler(rec.handler());
        // A monitor still waiting on a half-created container would hold the mount: end it (its
        // runtime child dies with it), then every process left in the container's cgroup, so an
        // interrupted "runc create" cannot leave its init process behind; then the runtime state.
        conmon.monitorPid(paths.persist()).ifPresent(pid -> {
            if (conmon.exit(rec.id(), paths.persist()).isEmpty()) {
                processes.kill(pid, dev.berth.linux.Processes.SIGKILL);
            }
        });
        if (!cgroups.killAll(rec.cgroup(), 5_000)) {
            LOG.warning("processes of container " + rec.id() + " survive in cgroup " + rec.cgroup());
        }
        rt.delete(rec.id(), true);
        rootFs.remove(paths);
        cgroups.remove(rec.cgroup());
        cpuRates.forget(rec.cgroup());
        conmon.forget(rec.id());
        containers.delete(rec);
    }

    // ---- status ----

    /**
     * ContainerStatus, from the container's snapshot: never waits for a lifecycle step (a stop in
     * its grace period holds the container's lock). An exit conmon has recorded is reported at
     * once, and committed too when no step holds the container.
     */
    public ContainerRecord status(String id) {
        return observe(get(id));
    }

    /** ListContainers with every CRI filter (id or unique id prefix, state, pod, labels); snapshots, no locks. */
    public List<ContainerRecord> list(ContainerFilter f) {
        List<ContainerRecord> out = new ArrayList<>();
        for (ContainerRecord r : containers.visible()) {
            if (f != null) {
                if (!f.getId().isEmpty() && !r.id().startsWith(f.getId())) {
                    continue;
                }
                if (!f.getPodSandboxId().isEmpty() && !r.podId().startsWith(f.getPodSandboxId())) {
                    continue;
                }
                if (!f.getLabelSelectorMap().entrySet().stream()
                        .allMatch(e -> e.getValue().equals(r.labels().get(e.getKey())))) {
                    continue;
                }
            }
            ContainerRecord cur = observe(r);
            if (f != null && f.hasState() && ContainerStates.toCri(cur.phase()) != f.getState().getState()) {
                continue;
            }
            out.add(cur);
        }
        return out;
    }

    /**
     * A snapshot with the end conmon may have recorded since: one file look for a running or
     * created container, and one signal-0 probe for a running one. Reads use it, and reads never
     * write (they run on the transport's thread): an end seen here is shown at once and committed,
     * with its STOPPED event, by a lifecycle thread ({@link #noticeExit}), as the exit watcher does.
     */
    private ContainerRecord observe(ContainerRecord rec) {
        if (rec.phase() != Phase.RUNNING && rec.phase() != Phase.CREATED) {
            return rec;
        }
        Optional<Conmon.Exit> exit = conmon.exit(rec.id(), ContainerPaths.of(settings.containersRoot(), rec.id())
                .persist());
        ContainerRecord now;
        if (exit.isPresent()) {
            now = exited(rec, exit.get());
        } else if (rec.phase() == Phase.RUNNING && rec.pid() > 0 && !processes.alive(rec.pid())) {
            // the process vanished: whether its monitor left an exit code is for ended() to say
            now = ended(rec);
        } else {
            return rec;
        }
        if (now != rec) {
            noticeExit(rec.id());
        }
        return now;
    }

    /** The OCI spec berth wrote for the container (ContainerStatus verbose). */
    public String specJson(String id) {
        try {
            return Files.readString(ContainerPaths.of(settings.containersRoot(), id).configJson());
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Brings a RUNNING/CREATED record up to date with what conmon recorded: when the container has
     * exited, its exit code, time and reason (OOMKilled from conmon's oom file or memory.events).
     */
    private ContainerRecord refresh(ContainerRecord rec) {
        ContainerRecord now = ended(rec);
        if (now != rec) {
            containers.put(now);
            emit(LifecycleEvent.Type.STOPPED, now);
        }
        return now;
    }

    /** {@code rec} itself while it runs (or waits to start), else the record of how it ended; writes nothing. */
    private ContainerRecord ended(ContainerRecord rec) {
        if (rec.phase() != Phase.RUNNING && rec.phase() != Phase.CREATED) {
            return rec;
        }
        ContainerPaths paths = ContainerPaths.of(settings.containersRoot(), rec.id());
        // conmon writes the exit file and then exits: whether it is gone is asked first, so that a
        // monitor ending between the two looks is never taken for one that left no exit code.
        boolean monitorGone = conmon.monitorPid(paths.persist()).isEmpty();
        Optional<Conmon.Exit> exit = conmon.exit(rec.id(), paths.persist());
        if (exit.isPresent()) {
            return exited(rec, exit.get());
        }
        if (monitorGone && !alive(rec) && !awaitingRestore(rec, paths)) {
            // Monitor and container both gone without an exit record (e.g. the node rebooted).
            return rec.exited(now(), 255, "Error", "the container and its monitor are gone and left no "
                    + "exit code");
        }
        return rec;
    }

    /** The record as conmon's exit file says it ended (OOMKilled from conmon's oom file or memory.events). */
    private ContainerRecord exited(ContainerRecord rec, Conmon.Exit e) {
        boolean oom = e.oomKilled() || cgroups.oomKills(rec.cgroup()) > 0;
        String reason = oom ? "OOMKilled" : e.code() == 0 ? "Completed" : "Error";
        return rec.exited(Math.max(e.finishedAtNanos(), rec.startedAt()), e.code(), reason,
                oom ? "the container exceeded its memory limit and was killed" : "");
    }

    /** Created from a checkpoint archive: no process (nor monitor) until StartContainer restores it. */
    private static boolean awaitingRestore(ContainerRecord rec, ContainerPaths paths) {
        return rec.phase() == Phase.CREATED && rec.pid() == 0 && ContainerRestore.pendingImages(paths.dir()).isPresent();
    }

    private boolean alive(ContainerRecord rec) {
        if (rec.pid() <= 0 || !processes.alive(rec.pid())) {
            return false;
        }
        try {
            return runtimes.forHandler(rec.handler()).state(rec.id())
                    .map(s -> !s.status().equals("stopped")).orElse(false);
        } catch (BerthException e) {
            return true;
        }
    }

    /**
     * The records of a pod's containers as stored, without waiting for any container's lock or
     * looking at conmon (for event payloads: a stop in progress must not hold them up).
     */
    public List<ContainerRecord> snapshot(String podId) {
        return containers.ofPod(podId).stream().filter(ContainerStore::isVisible).toList();
    }

    /**
     * Watches conmon's exit files, so a container that ends by itself is recorded (and its STOPPED
     * event sent) when it ends, not at the next status call.
     */
    public AutoCloseable watchExits() {
        return dev.berth.runtime.monitor.ExitWatcher.start(conmon.exitDir(), this::noticeExit, () -> {
            for (ContainerRecord r : containers.all()) {
                noticeExit(r.id());
            }
        });
    }

    private void noticeExit(String id) {
        if (!validId(id)) {
            return; // conmon's temporary files
        }
        // one commit in flight per container: reads that keep seeing the end before it is
        // committed (and the watcher's own event) start no more threads
        if (!endsInFlight.add(id)) {
            return;
        }
        // off the caller's thread: the container's lock may be held by a stop in progress, and
        // readers must not wait for a commit
        Thread.ofVirtual().name("berth-exit-" + id.substring(0, Math.min(12, id.length()))).start(() -> {
            try {
                withLock(id, () -> {
                    endsInFlight.remove(id);
                    return containers.get(id)
                            .filter(r -> r.phase() == Phase.RUNNING || r.phase() == Phase.CREATED).map(this::refresh);
                });
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "noticing the exit of " + id, e);
            } finally {
                endsInFlight.remove(id);
            }
        });
    }

    // ---- exec, logs, resources ----

    /** ExecSync: runs {@code cmd} in the running container; killed at the timeout (0 = none). */
    public ExecRunner.Result execSync(String id, List<String> cmd, long timeoutSeconds) {
        ContainerRecord rec = status(id);
        if (rec.phase() != Phase.RUNNING) {
            throw BerthException.precondition("container %s is not running (%s); cannot exec in it", id,
                    rec.phase().name().toLowerCase());
        }
        if (cmd.isEmpty()) {
            throw BerthException.invalid("exec command is empty");
        }
        ContainerPaths paths = ContainerPaths.of(settings.containersRoot(), id);
        return exec.run(runtimes.forHandler(rec.handler()), id, paths.configJson(), paths.dir(), cmd,
                timeoutSeconds);
    }

    /** ReopenContainerLog: conmon reopens the log file at its path (after kubelet rotated it). */
    public void reopenLog(String id) {
        ContainerRecord rec = status(id);
        if (rec.phase() != Phase.RUNNING) {
            throw BerthException.precondition("container %s is not running; its log cannot be reopened", id);
        }
        ContainerPaths paths = ContainerPaths.of(settings.containersRoot(), id);
        Path log = rec.logPath().isEmpty() ? paths.persist().resolve("container.log") : Path.of(rec.logPath());
        if (!conmon.reopenLog(paths.bundle(), log, paths.persist())) {
            throw BerthException.precondition("the monitor of container %s is not running; cannot reopen its log",
                    id);
        }
    }

    /** UpdateContainerResources: new limits into the container's cgroup, then remembered. */
    public void updateResources(String id, LinuxContainerResources r) {
        withLock(id, () -> {
            ContainerRecord rec = refresh(get(id));
            if (rec.phase() != Phase.RUNNING && rec.phase() != Phase.CREATED) {
                throw BerthException.precondition("container %s is not running; cannot update its resources", id);
            }
            cgroups.applyResources(rec.cgroup(), r);
            LinuxContainerResources merged = rec.resourcesProto().toBuilder().mergeFrom(r).build();
            containers.put(rec.withResources(ContainerRecord.encode(merged)));
            return null;
        });
    }

    // ---- stats ----

    /** One container's usage: cgroup figures, CPU rate since the previous sample, writable layer. */
    public record Usage(ContainerRecord container, long timestampNanos, dev.berth.runtime.cgroup.CgroupStats cgroup,
            java.util.OptionalLong nanoCores, Path layer, long layerBytes, long layerInodes) {}

    private final dev.berth.runtime.cgroup.CpuRates cpuRates = new dev.berth.runtime.cgroup.CpuRates();

    /** ContainerStats / ListContainerStats for running and created containers matching the filter. */
    public List<Usage> usage(String id, String podId, Map<String, String> labels) {
        List<Usage> out = new ArrayList<>();
        for (ContainerRecord r : list(null)) {
            if ((id != null && !id.isEmpty() && !r.id().startsWith(id))
                    || (podId != null && !podId.isEmpty() && !r.podId().startsWith(podId))
                    || !labels.entrySet().stream().allMatch(e -> e.getValue().equals(r.labels().get(e.getKey())))) {
                continue;
            }
            if (r.phase() != Phase.RUNNING && r.phase() != Phase.CREATED) {
                continue;
            }
            long now = now();
            var cg = dev.berth.runtime.cgroup.CgroupStats.read(cgroups, r.cgroup());
            java.util.OptionalLong rate = cpuRates.next(r.cgroup(), now, cg.cpuUsageNanos());
            Path upper = ContainerPaths.of(settings.containersRoot(), r.id()).upper();
            long[] du = diskUsage(upper);
            out.add(new Usage(r, now, cg, rate, upper, du[0], du[1]));
        }
        return out;
    }

    private static long[] diskUsage(Path dir) {
        long[] acc = new long[2];
        try (var walk = Files.walk(dir)) {
            walk.forEach(p -> {
                acc[1]++;
                try {
                    if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        acc[0] += Files.size(p);
                    }
                } catch (IOException ignored) {
                    // removed while walking
                }
            });
        } catch (IOException | java.io.UncheckedIOException e) {
            // layer gone with its container
        }
        return acc;
    }

    // ---- pods ----

    @Override
    public void stopAll(String sandboxId, long timeoutSeconds) {
        for (ContainerRecord r : containers.ofPod(sandboxId)) {
            try {
                stop(r.id(), timeoutSeconds);
            } catch (BerthException e) {
                if (e.kind() != ErrorKind.NOT_FOUND) {
                    throw e;
                }
            }
        }
    }

    @Override
    public void removeAll(String sandboxId) {
        for (ContainerRecord r : containers.ofPod(sandboxId)) {
            remove(r.id());
        }
    }

    // ---- restart safety ----

    /**
     * After a daemon restart: half-created containers (record CREATING) and half-removed ones
     * (REMOVING) are cleaned up completely; the rest are brought up to date (a container that
     * exited while the daemon was down gets conmon's exit code); container directories without a
     * record are removed. Returns how many containers were cleaned up.
     */
    public int recover() {
        int cleaned = 0;
        for (ContainerRecord r : containers.all()) {
            try {
                if (r.phase() == Phase.CREATING || r.phase() == Phase.REMOVING) {
                    LOG.info("cleaning up container " + r.id() + " left " + r.phase().name().toLowerCase()
                            + " by a previous berth");
                    withLock(r.id(), () -> {
                        cleanup(r);
                        return null;
                    });
                    cleaned++;
                } else {
                    withLock(r.id(), () -> refresh(r));
                }
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "recovering container " + r.id() + " failed", e);
            }
        }
        try (var dirs = Files.list(settings.containersRoot())) {
            for (Path d : dirs.toList()) {
                String id = d.getFileName().toString();
                if (containers.get(id).isEmpty()) {
                    LOG.info("removing files of unknown container " + id);
                    rootFs.remove(new ContainerPaths(d));
                    cleaned++;
                }
            }
        } catch (IOException e) {
            // no containers directory yet
        }
        return cleaned;
    }

    // ---- helpers ----

    /** Ids name directories: only berth's own form (lowercase hex) is ever looked up. */
    private static boolean validId(String id) {
        return id != null && id.matches("[0-9a-f]{1,64}");
    }

    private ContainerRecord get(String id) {
        if (!validId(id)) {
            throw BerthException.notFound("container %s does not exist", id);
        }
        return containers.visible(id)
                .orElseThrow(() -> BerthException.notFound("container %s does not exist", id));
    }

    private <T> T withLock(String id, java.util.function.Supplier<T> body) {
        try (IdLocks.Held l = containers.lock(id)) {
            return body.get();
        }
    }

    /** Containers whose lock is held or waited for now (tests: the lock map keeps no others). */
    public int lockedContainers() {
        return containers.lockCount();
    }

    private Path targetPidNamespace(ContainerConfig c, String podId) {
        return NamespaceSpec.pidTarget(c.getLinux().getSecurityContext().getNamespaceOptions(), podId, tid -> {
            try {
                ContainerRecord t = status(tid);
                return Optional.of(new NamespaceSpec.PidTarget(t.podId(), t.phase() == Phase.RUNNING, t.pid()));
            } catch (BerthException e) {
                if (e.kind() != ErrorKind.NOT_FOUND) {
                    throw e;
                }
                return Optional.empty();
            }
        });
    }

    private static String stopSignal(ContainerConfig c, LocalImage image) {
        if (c.getStopSignalValue() != 0) {
            String n = c.getStopSignal().name();
            return n.startsWith("SIGNAL_") ? n.substring("SIGNAL_".length()) : n;
        }
        String s = image.config() == null ? null : image.config().stopSignal();
        if (s == null || s.isBlank()) {
            return "SIGTERM";
        }
        if (!s.matches("(SIG)?[A-Z0-9+-]+|\\d+")) {
            throw BerthException.invalid("image stop signal \"%s\" is not a signal name or number", s);
        }
        return s;
    }

    private static String imageRef(LocalImage image) {
        return image.repoDigests() != null && !image.repoDigests().isEmpty() ? image.repoDigests().get(0)
                : image.id();
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return b;
    }

    /** The daemon's own oom_score_adj: without CAP_SYS_RESOURCE a container cannot go below it. */
    static int ownOomScoreAdj() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/self/oom_score_adj")).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    private static long now() {
        java.time.Instant i = java.time.Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw BerthException.internal("interrupted", e);
        }
    }
}
