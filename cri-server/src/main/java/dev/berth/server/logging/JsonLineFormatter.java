package dev.berth.server.logging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/** One JSON object per log record: time, level, logger, thread, message and (if any) the stack trace. */
public final class JsonLineFormatter extends Formatter {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String format(LogRecord record) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("time", Instant.ofEpochMilli(record.getMillis()).toString());
        line.put("level", level(record));
        line.put("logger", record.getLoggerName());
        if (record instanceof org.jboss.logmanager.ExtLogRecord ext) {
            line.put("thread", ext.getThreadName());
            line.put("message", ext.getFormattedMessage());
        } else {
            line.put("message", formatMessage(record));
        }
        if (record.getThrown() != null) {
            StringWriter sw = new StringWriter();
            record.getThrown().printStackTrace(new PrintWriter(sw));
            line.put("exception", sw.toString());
        }
        try {
            return JSON.writeValueAsString(line) + "\n";
        } catch (JsonProcessingException e) {
            return "{\"level\":\"ERROR\",\"message\":\"unprintable log record\"}\n";
        }
    }

    private static String level(LogRecord r) {
        String name = r.getLevel().getName();
        return switch (name) {
            case "SEVERE" -> "ERROR";
            case "WARNING" -> "WARN";
            case "FINE" -> "DEBUG";
            case "FINER", "FINEST" -> "TRACE";
            default -> name;
        };
    }
}
