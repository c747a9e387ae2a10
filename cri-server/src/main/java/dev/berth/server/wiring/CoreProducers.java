package dev.berth.server.wiring;

import dev.berth.core.fs.OwnerOnly;
import dev.berth.core.state.StateStore;
import dev.berth.server.BerthMain;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigLoader;
import dev.berth.server.host.HostTools;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;

/** The daemon-wide singletons every area uses: configuration, host tools, the state store. */
@ApplicationScoped
public class CoreProducers {
    @Produces
    @Singleton
    BerthConfig config() {
        BerthConfig c = BerthMain.config();
        // Started without BerthMain.main (e.g. in a Quarkus test): load the same way.
        return c != null ? c : ConfigLoader.load(System.getenv());
    }

    @Produces
    @Singleton
    HostTools tools(BerthConfig config) {
        HostTools t = BerthMain.tools();
        return t != null ? t : HostTools.probe(config);
    }

    @Produces
    @Singleton
    StateStore stateStore(BerthConfig config) throws IOException {
        // The run root is tmpfs on most nodes: recreate it after a reboot. 0711: the CRI socket inside
        // stays reachable by its group, but nobody else lists bundles. The state root: 0711, so a
        // container in a user namespace (an unprivileged host uid) can reach its root filesystem;
        // nobody else can list it, and what holds images and secrets below is 0700 (state/, images/)
        // or 0600 (config.json, exec specs), tightened if it exists (as containerd after CVE-2021-41103).
        OwnerOnly.traversableDirectory(config.run());
        OwnerOnly.traversableDirectory(config.root());
        return StateStore.open(config.root().resolve("state"));
    }

    void closeStore(@Disposes StateStore store) {
        store.close();
    }
}
