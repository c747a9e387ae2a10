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
            int set = 0;
            for (Handler h : Logger.getLogger("").getHandlers()) {
                set += apply(h, json);
            }
            if (set == 0) {
                org.jboss.logging.Logger.getLogger(JsonLogInstaller.class)
                        .warn("log_format json: no console log handler found; lines stay plain text");
            }
        }
    }

    /** Quarkus wraps its handlers (a delayed handler holding the console one): set it on all. */
    private static int apply(Handler h, JsonLineFormatter json) {
        int set = 0;
        if (h instanceof org.jboss.logmanager.ExtHandler ext) {
            for (Handler child : ext.getHandlers()) {
                set += apply(child, json);
            }
        }
        if (h instanceof org.jboss.logmanager.handlers.ConsoleHandler) {
            h.setFormatter(json);
            set++;
        }
        return set;
    }
}
