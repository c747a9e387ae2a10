package dev.berth.image.registry.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class ChallengeTest {
    @Test
    void parsesBearerChallenges() {
        Challenge c = Challenge.parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                + "scope=\"repository:library/busybox:pull\"").orElseThrow();
        assertTrue(c.isBearer());
        assertEquals("https://auth.docker.io/token", c.params().get("realm"));
        assertEquals("registry.docker.io", c.params().get("service"));
        assertEquals("repository:library/busybox:pull", c.params().get("scope"));
        assertTrue(Challenge.parse("Basic realm=\"x\"").orElseThrow().isBasic());
        assertTrue(Challenge.parse("").isEmpty());
    }

    @Test
    void credentialsDecodeAuthField() {
        String auth = Base64.getEncoder().encodeToString("u:p:w".getBytes());
        String[] up = new RegistryCredentials("", "", auth, "", "").userPassword().orElseThrow();
        assertEquals("u", up[0]);
        assertEquals("p:w", up[1]);
        assertThrows(BerthException.class, () -> new RegistryCredentials("", "", "!!", "", "").userPassword());
        assertTrue(RegistryCredentials.NONE.isEmpty());
        assertEquals("anonymous", RegistryCredentials.NONE.toString());
    }
}
