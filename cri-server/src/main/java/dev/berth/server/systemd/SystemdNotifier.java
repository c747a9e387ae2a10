package dev.berth.server.systemd;

import dev.berth.linux.LinuxException;
import dev.berth.linux.NotifySocket;
import dev.berth.server.CriSocketServer;
import dev.berth.server.config.BerthConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Tells systemd (a {@code Type=notify} unit) how the daemon is doing, through {@code $NOTIFY_SOCKET}:
 * READY=1 once every start-up step ran and the CRI socket serves, STOPPING=1 as shutdown begins.
 * Without the variable (not under systemd) it does nothing. A failed send is logged, never fatal:
 * systemd then times the start out and says so itself.
 */
@ApplicationScoped
public class SystemdNotifier {
    private static final Logger LOG = Logger.getLogger(SystemdNotifier.class);

    @Inject
    CriSocketServer cri;

    @Inject
    BerthConfig config;

    private final Optional<String> socket = Optional.ofNullable(System.getenv("NOTIFY_SOCKET"))
            .filter(s -> !s.isBlank());

    /** Late: after the CRI socket server's own start-up observer (default priority). */
    void ready(@Observes @Priority(jakarta.interceptor.Interceptor.Priority.PLATFORM_AFTER + 900) StartupEvent event) {
        if (cri.serving()) {
            send("READY=1\nMAINPID=" + ProcessHandle.current().pid() + "\nSTATUS=serving CRI v1 on unix://"
                    + config.socket());
        }
    }

    /** Early: before the socket closes. */
    void stopping(@Observes @Priority(jakarta.interceptor.Interceptor.Priority.PLATFORM_BEFORE) ShutdownEvent event) {
        send("STOPPING=1\nSTATUS=stopping; containers keep running under their monitors");
    }

    /** Sends a state change (also RELOADING=1 / READY=1 around a reload); no-op outside systemd. */
    public void send(String state) {
        socket.ifPresent(s -> {
            try {
                NotifySocket.send(s, state);
            } catch (LinuxException e) {
                LOG.warnf("cannot notify systemd at %s (%s): %s", s, state.lines().findFirst().orElse(""),
                        e.getMessage());
            }
        });
    }
}
