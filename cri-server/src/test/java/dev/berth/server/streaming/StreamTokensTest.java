package dev.berth.server.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class StreamTokensTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final StreamTokens tokens = new StreamTokens(now::get, Duration.ofMinutes(1));
    private final StreamTarget target = new StreamTarget.Attach("c1", false, true, true, true);

    @Test
    void aTokenIsGoodOnce() {
        String t = tokens.issue(target);
        assertTrue(t.matches("[A-Za-z0-9_-]{24}"), t);
        assertEquals(Optional.of(target), tokens.consume(t));
        assertEquals(Optional.empty(), tokens.consume(t));
        assertEquals(Optional.empty(), tokens.consume("never-issued"));
    }

    @Test
    void anUnusedTokenExpiresAfterAMinute() {
        String early = tokens.issue(target);
        now.addAndGet(Duration.ofSeconds(30).toNanos());
        String late = tokens.issue(target);
        now.addAndGet(Duration.ofSeconds(30).toNanos() + 1);
        assertEquals(Optional.empty(), tokens.consume(early), "61 s old");
        assertEquals(1, tokens.pendingCount(), "expired tokens are dropped");
        assertEquals(Optional.of(target), tokens.consume(late), "31 s old");
    }

    @Test
    void tokensAreDistinctAndBounded() {
        assertNotEquals(tokens.issue(target), tokens.issue(target));
        for (int i = tokens.pendingCount(); i < StreamTokens.MAX_PENDING; i++) {
            tokens.issue(new StreamTarget.PortForward("p", List.of(80)));
        }
        BerthException e = assertThrows(BerthException.class, () -> tokens.issue(target));
        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind());
        now.addAndGet(StreamTokens.TTL.toNanos() + 1);
        tokens.issue(target); // expired ones made room
    }
}
