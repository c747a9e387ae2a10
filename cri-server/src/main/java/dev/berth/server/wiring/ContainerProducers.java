package dev.berth.server.wiring;

import dev.berth.core.state.StateStore;
import dev.berth.image.ImageLookup;
import dev.berth.linux.host.LinuxHost;
import dev.berth.runtime.cgroup.CgroupDriver;
import dev.berth.runtime.cgroup.CgroupHost;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.runtime.sandbox.SandboxLookup;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigException;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.jboss.logging.Logger;

/** The container side: OCI runtimes by handler, conmon, the cgroup v2 manager, the container service. */
@ApplicationScoped
public class ContainerProducers {
    private static final Logger LOG = Logger.getLogger(ContainerProducers.class);

    @Produces
    @Singleton
    CgroupHost cgroupHost(BerthConfig config) {
        return new CgroupHost(config.cgroupMount());
    }

    @Produces
    @Singleton
    CgroupManager cgroupManager(BerthConfig config, LinuxHost host) {
        CgroupDriver driver = switch (config.cgroupDriver()) {
            case "cgroupfs" -> new CgroupfsDriver();
            default -> throw new ConfigException("cgroup.driver " + config.cgroupDriver()
                    + " is not supported; berth has the cgroupfs driver");
        };
        return new CgroupManager(host, config.cgroupMount(), driver, config.skipMissingControllers());
    }

    /** The configured OCI runtimes by handler (containers and streaming share them). */
    @Produces
    @Singleton
    OciRuntimes runtimes(BerthConfig config) {
        return new OciRuntimes(config.runtimes(), config.defaultHandler(), config.run().resolve("oci"));
    }

    /** conmon: exit files under {@code <run>/exits}, attach links and exec sockets under {@code <run>/attach}. */
    @Produces
    @Singleton
    Conmon conmon(BerthConfig config, LinuxHost host) {
        return new Conmon(config.conmon(), config.run().resolve("exits"), config.run().resolve("attach"),
                host.processes());
    }

    /** Where container directories live. */
    static Path containersRoot(BerthConfig config) {
        return config.root().resolve("containers");
    }

    @Produces
    @Singleton
    ContainerService containers(BerthConfig config, StateStore store, CgroupManager cgroups, OciRuntimes runtimes,
            Conmon conmon, Instance<ImageLookup> images, Instance<SandboxLookup> sandboxes, LinuxHost host) {
        // Resolved per call: the pod side needs this service too (PodContainers), so neither
        // may need the other while being built.
        // Both forward the holding variants too: CreateContainer leases the image's layers and
        // holds the pod while it works.
        ImageLookup imageLookup = new ImageLookup() {
            @Override
            public Optional<dev.berth.image.LocalImage> find(String ref) {
                return images.isResolvable() ? images.get().find(ref) : Optional.empty();
            }

            @Override
            public Optional<dev.berth.image.ImageLease> lease(String ref) {
                return images.isResolvable() ? images.get().lease(ref) : Optional.empty();
            }
        };
        SandboxLookup sandboxLookup = new SandboxLookup() {
            @Override
            public Optional<dev.berth.runtime.sandbox.SandboxView> find(String id) {
                return sandboxes.isResolvable() ? sandboxes.get().find(id) : Optional.empty();
            }

            @Override
            public Optional<Held> hold(String id) {
                return sandboxes.isResolvable() ? sandboxes.get().hold(id) : Optional.empty();
            }
        };
        return new ContainerService(store, imageLookup, sandboxLookup, runtimes, conmon, cgroups,
                new ContainerService.Settings(containersRoot(config), config.seccompDefaultProfile(),
                        apparmorEnabled(), config.execMaxOutputBytes()), host);
    }

    /** Brings containers up to date (and cleans up half-done work) as soon as the daemon starts. */
    void recover(@Observes StartupEvent event, ContainerService containers) {
        try {
            int cleaned = containers.recover();
            if (cleaned > 0) {
                LOG.infof("cleaned up %d containers left half-created or half-removed", cleaned);
            }
        } catch (RuntimeException e) {
            LOG.error("recovering containers failed", e);
        }
    }

    private static boolean apparmorEnabled() {
        try {
            return Files.readString(Path.of("/sys/module/apparmor/parameters/enabled")).strip().equals("Y");
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
