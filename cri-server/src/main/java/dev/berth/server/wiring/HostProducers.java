package dev.berth.server.wiring;

import dev.berth.linux.host.LinuxHost;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** The node's kernel, wired once: every class that mounts, pins, spawns or writes cgroups gets this. */
@ApplicationScoped
public class HostProducers {
    @Produces
    @Singleton
    LinuxHost linuxHost() {
        return LinuxHost.system();
    }
}
