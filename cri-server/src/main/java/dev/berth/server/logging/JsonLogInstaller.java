package dev.berth.server.logging;

import dev.berth.server.config.BerthConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.logging.Handler;
import java.util.logging.Logger;

/**
 * {@code log_format: json}: puts {@link JsonLineFormatter} on the console handler, first thing at
 * start (Quarkus sets up its console handler from a pattern; berth has no JSON logging extension).
 */
@ApplicationScoped
public class JsonLogInstaller {
    void install(@Observes @Priority(1) StartupEvent event, BerthConfig config) {
        if (config.logFormat().equals("json")) {
            JsonLineFormatter json = new JsonLineFormatter();
            for (Handler h : Logger.getLogger("").getHandlers()) {
                apply(h, json);
            }
        }
    }

    /** Quarkus wraps its handlers (a delayed handler holding the console one): set it on all. */
    private static void apply(Handler h, JsonLineFormatter json) {
        if (h instanceof org.jboss.logmanager.ExtHandler ext) {
            for (Handler child : ext.getHandlers()) {
                apply(child, json);
            }
        }
        if (h instanceof org.jboss.logmanager.handlers.ConsoleHandler) {
            h.setFormatter(json);
        }
    }
}
