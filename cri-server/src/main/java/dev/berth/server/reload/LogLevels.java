package dev.berth.server.reload;

import java.util.logging.Level;
import java.util.logging.Logger;

/** The root log level, changed while running (JBoss LogManager is the JUL log manager under Quarkus). */
final class LogLevels {
    private LogLevels() {}

    /** @param level ERROR, WARN, INFO, DEBUG or TRACE (validated by the config) */
    static void set(String level) {
        Level l = switch (level) {
            case "ERROR" -> org.jboss.logmanager.Level.ERROR;
            case "WARN" -> org.jboss.logmanager.Level.WARN;
            case "DEBUG" -> org.jboss.logmanager.Level.DEBUG;
            case "TRACE" -> org.jboss.logmanager.Level.TRACE;
            default -> org.jboss.logmanager.Level.INFO;
        };
        Logger.getLogger("").setLevel(l);
    }

    static String current() {
        Level l = Logger.getLogger("").getLevel();
        return l == null ? "" : l.getName();
    }
}
