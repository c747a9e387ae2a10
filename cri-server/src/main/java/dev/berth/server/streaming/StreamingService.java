package dev.berth.server.streaming;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.runtime.stream.ContainerStreams;
import dev.berth.server.config.BerthConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

/**
 * The streaming server as part of the daemon: listens from start to shutdown on
 * {@code stream.host}:{@code stream.port}, and hands the Exec, Attach and PortForward handlers their
 * URLs. A port that cannot be bound stops the daemon at start, like the CRI socket.
 */
@ApplicationScoped
public class StreamingService {
    @Inject
    BerthConfig config;

    /** The runtime's exec, attach and port-forward (runtime-service); resolved per session. */
    @Inject
    Instance<ContainerStreams> containerStreams;

    private StreamServer server;

    void onStart(@Observes StartupEvent event) throws InterruptedException {
        server = new StreamServer(new StreamServer.Settings(config.streamHost(), config.streamPort(),
                config.streamIdleTimeout(), config.streamMaxSessions()), this::runtime, new StreamTokens());
        server.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        if (server != null) {
            server.close();
        }
    }

    /** A single-use URL for the validated request; see {@link StreamServer#url}. */
    public String url(StreamTarget target) {
        if (server == null) {
            throw BerthException.unavailable("the streaming server is not running", null);
        }
        if (!containerStreams.isResolvable()) {
            throw new BerthException(ErrorKind.UNIMPLEMENTED, "this berth build has no exec, attach or port-forward");
        }
        return server.url(target);
    }

    private ContainerStreams runtime() {
        return containerStreams.get();
    }
}
