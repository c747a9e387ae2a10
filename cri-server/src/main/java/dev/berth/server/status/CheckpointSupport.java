package dev.berth.server.status;

import dev.berth.runtime.checkpoint.CriuSupport;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

/**
 * Probes CRIU ({@code criu check}) once as the daemon starts, off the start-up path, and logs the
 * verdict; Status and CheckpointContainer read the cached answer.
 */
@ApplicationScoped
public class CheckpointSupport {
    private static final Logger LOG = Logger.getLogger(CheckpointSupport.class);

    void probe(@Observes StartupEvent event) {
        Thread.ofVirtual().name("berth-criu-probe").start(() -> {
            CriuSupport s = CriuSupport.host();
            if (s.available()) {
                LOG.info("checkpoint/restore available: " + s.reason());
            } else {
                LOG.warn("checkpoint/restore unavailable: " + s.reason());
            }
        });
    }

    /** For Status: whether checkpoint/restore works here, and why not. */
    public String describe() {
        CriuSupport s = CriuSupport.host();
        return (s.available() ? "available (" : "unavailable: ") + s.reason() + (s.available() ? ")" : "");
    }
}
