package dev.berth.server.wiring;

import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.runtime.sandbox.SandboxManager;
import dev.berth.runtime.stream.ContainerStreams;
import dev.berth.runtime.stream.RuntimeStreams;
import dev.berth.server.config.BerthConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** What the streaming server runs exec, attach and port-forward through. */
@ApplicationScoped
public class StreamProducers {
    /** Bytes buffered in the daemon per stream of a session; a client that stops reading stalls its process. */
    static final int STREAM_BUFFER_BYTES = 64 * 1024;

    @Produces
    @Singleton
    ContainerStreams containerStreams(BerthConfig config, ContainerService containers, SandboxManager sandboxes,
            OciRuntimes runtimes, Conmon conmon) {
        return new RuntimeStreams(containers, sandboxes, runtimes, conmon, ContainerProducers.containersRoot(config),
                STREAM_BUFFER_BYTES);
    }
}
