package dev.berth.server.wiring;

import dev.berth.cni.CniNetworks;
import dev.berth.cni.CniSettings;
import dev.berth.core.state.StateStore;
import dev.berth.linux.host.LinuxHost;
import dev.berth.runtime.container.PodContainers;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.runtime.sandbox.SandboxSettings;
import dev.berth.server.config.BerthConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/** The pod side: CNI networks (berth's built-in one while the conf dir holds none) and the sandbox manager. */
@ApplicationScoped
public class SandboxProducers {
    private static final Logger LOG = Logger.getLogger(SandboxProducers.class);

    /** Also the daemon's {@link dev.berth.cni.NetworkReadiness} (Status NetworkReady). */
    @Produces
    @Singleton
    CniNetworks cniNetworks(BerthConfig config, LinuxHost host) {
        CniNetworks cni = new CniNetworks(new CniSettings(config.cniConfDir(), config.cniBinDirs(),
                config.root().resolve("cni"), config.cniDefaultSubnet(), config.cniBridge()), host);
        // the conf dir is the cluster's: only read, never written (see BuiltinNetwork)
        LOG.infof("pod network: %s", cni.networkInUse());
        return cni;
    }

    @Produces
    @Singleton
    SandboxManager sandboxes(BerthConfig config, StateStore store, CniNetworks cni, OciRuntimes runtimes,
            Instance<PodContainers> containers, LinuxHost host) {
        // the handler names as a live view: a reload (SIGHUP) that adds a handler lets new pods use it
        SandboxManager m = new SandboxManager(store,
                new SandboxSettings(config.run(), config.cgroupMount(), runtimes.handlers(), config.defaultHandler()),
                cni, () -> containers.isResolvable() ? containers.get() : null, host);
        m.recover();
        return m;
    }

    /** Undoes pods a kill -9 caught halfway as soon as the daemon starts, not at the first pod RPC. */
    void recover(@Observes StartupEvent event, SandboxManager sandboxes) {
        LOG.debugf("pod sandboxes known after start: %d", sandboxes.ids().size());
    }

    /**
     * Finishes the deferred StateStore writes of pod lifecycle calls (RunPodSandbox's commit, a
     * stop's NOTREADY, a removal's delete) before the store closes; after the CRI server has
     * stopped taking calls (observers of lower priority run first).
     */
    void flush(@Observes @jakarta.annotation.Priority(jakarta.interceptor.Interceptor.Priority.LIBRARY_AFTER)
            io.quarkus.runtime.ShutdownEvent event, SandboxManager sandboxes) {
        sandboxes.flush();
    }
}
