package dev.berth.image.registry;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import org.junit.jupiter.api.Test;

class RedirectAuthorizationTest {
    @Test
    void authorizationFollowsOnlyToTheSameHostWithoutADowngrade() {
        URI start = URI.create("https://registry.example.com/v2/app/blobs/sha256:aa");
        assertTrue(RegistryCaller.mayAuthorize(start, URI.create("https://registry.example.com/other")));
        assertFalse(RegistryCaller.mayAuthorize(start, URI.create("http://registry.example.com/other")),
                "https to http on the same host would send the credentials in clear");
        assertFalse(RegistryCaller.mayAuthorize(start, URI.create("https://storage.example.com/blob")));
        assertFalse(RegistryCaller.mayAuthorize(start, URI.create("https://registry.example.com:8443/x")));
        URI local = URI.create("http://127.0.0.1:5000/v2/x");
        assertTrue(RegistryCaller.mayAuthorize(local, URI.create("http://127.0.0.1:5000/v2/y")));
    }
}
