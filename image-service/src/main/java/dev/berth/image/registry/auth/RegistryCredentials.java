package dev.berth.image.registry.auth;

import dev.berth.core.error.BerthException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/**
 * Credentials for one pull, as CRI's AuthConfig carries them: username/password, or "auth"
 * (base64 of "user:password"), or an identity token (an OAuth2 refresh token traded at the token
 * server), or a registry token (a bearer token used as is); {@code serverAddress} names the registry
 * they are for (empty: the image reference's registry).
 */
public record RegistryCredentials(String username, String password, String auth, String identityToken,
        String registryToken, String serverAddress) {
    public static final RegistryCredentials NONE = new RegistryCredentials("", "", "", "", "", "");

    /** Credentials for the image reference's own registry. */
    public RegistryCredentials(String username, String password, String auth, String identityToken,
            String registryToken) {
        this(username, password, auth, identityToken, registryToken, "");
    }

    public RegistryCredentials {
        serverAddress = serverAddress == null ? "" : serverAddress;
        username = username == null ? "" : username;
        password = password == null ? "" : password;
        auth = auth == null ? "" : auth;
        identityToken = identityToken == null ? "" : identityToken;
        registryToken = registryToken == null ? "" : registryToken;
        // sent as is in an Authorization header: a control or non-ASCII character would fail the
        // HTTP client deep in the pull (or split the header); say so up front
        if (!headerSafe(registryToken)) {
            throw BerthException.invalid("auth.registry_token may hold only visible ASCII characters"
                    + " (a bearer token); it has a space, control or non-ASCII character");
        }
    }

    /** Whether {@code token} can follow "Bearer " in a header: visible ASCII only (RFC 6750's b64token and more). */
    public static boolean headerSafe(String token) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }

    public boolean isEmpty() {
        return username.isEmpty() && password.isEmpty() && auth.isEmpty() && identityToken.isEmpty()
                && registryToken.isEmpty();
    }

    /** user and password from username/password or from "auth". */
    public Optional<String[]> userPassword() {
        if (!username.isEmpty()) {
            return Optional.of(new String[] {username, password});
        }
        if (!auth.isEmpty()) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(auth.trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw BerthException.invalid("auth.auth is not valid base64 (expected base64 of \"user:password\")");
            }
            int colon = decoded.indexOf(':');
            if (colon < 0) {
                throw BerthException.invalid("auth.auth must be base64 of \"user:password\"; it has no ':'");
            }
            return Optional.of(new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)});
        }
        return Optional.empty();
    }

    public Optional<String> basicHeader() {
        return userPassword().map(up -> "Basic " + Base64.getEncoder()
                .encodeToString((up[0] + ":" + up[1]).getBytes(StandardCharsets.UTF_8)));
    }

    /** A stable key for caching tokens per credential set (never logged). */
    public String cacheKey() {
        return Integer.toHexString((username + "\0" + password + "\0" + auth + "\0" + identityToken + "\0" + registryToken)
                .hashCode());
    }

    @Override
    public String toString() {
        return isEmpty() ? "anonymous" : "credentials(" + (username.isEmpty() ? "token" : username) + ")";
    }
}
