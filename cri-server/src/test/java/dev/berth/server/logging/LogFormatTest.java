package dev.berth.server.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class LogFormatTest {
    @Test
    void noTimestampOfItsOwnUnderJournald() {
        assertTrue(LogFormat.consolePattern(Map.of()).startsWith("%d{"));
        assertFalse(LogFormat.consolePattern(Map.of("JOURNAL_STREAM", "8:4711")).contains("%d"));
        assertTrue(LogFormat.consolePattern(Map.of("JOURNAL_STREAM", "")).startsWith("%d{"));
    }

    @Test
    void jsonLinesAreOneObjectALineWithTheStackTrace() throws Exception {
        LogRecord r = new LogRecord(Level.SEVERE, "StopContainer failed: \"quoted\"\nsecond line");
        r.setLoggerName("dev.berth.X");
        r.setThrown(new IllegalStateException("boom"));
        String line = new JsonLineFormatter().format(r);
        assertTrue(line.endsWith("\n"));
        assertEquals(1, line.lines().count(), line);
        JsonNode n = new ObjectMapper().readTree(line);
        assertEquals("ERROR", n.get("level").asText());
        assertEquals("dev.berth.X", n.get("logger").asText());
        assertEquals("StopContainer failed: \"quoted\"\nsecond line", n.get("message").asText());
        assertTrue(n.get("exception").asText().contains("IllegalStateException: boom"));
        assertTrue(n.get("time").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"), n.get("time").asText());
    }
}
