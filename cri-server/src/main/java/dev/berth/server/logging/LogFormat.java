package dev.berth.server.logging;

import java.util.Map;

/**
 * How the daemon's log lines look. On a terminal or in a file: plain text with a timestamp. Under
 * journald (systemd sets JOURNAL_STREAM for a service whose output goes to the journal): no
 * timestamp, the journal stamps every line itself. {@code log_format: json}: one JSON object a line
 * ({@link JsonLineFormatter}).
 */
public final class LogFormat {
    static final String WITH_TIME = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSZ} %-5p [%c{1.}] %s%e%n";
    static final String WITHOUT_TIME = "%-5p [%c{1.}] %s%e%n";

    private LogFormat() {}

    /** The Quarkus console pattern for this environment (text format). */
    public static String consolePattern(Map<String, String> env) {
        String journal = env.get("JOURNAL_STREAM");
        return journal != null && !journal.isBlank() ? WITHOUT_TIME : WITH_TIME;
    }
}
