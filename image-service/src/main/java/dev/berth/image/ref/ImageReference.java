package dev.berth.image.ref;

import dev.berth.core.error.BerthException;
import dev.berth.image.content.Digests;
import java.util.regex.Pattern;

/**
 * A normalized image reference: registry domain, repository path, optional tag, optional digest.
 *
 * <p>Short names are completed the way kubelet users expect of Docker-style names: {@code busybox}
 * becomes {@code docker.io/library/busybox:latest}, {@code foo/bar} becomes {@code docker.io/foo/bar:latest}.
 * The first component is a registry domain only if it contains "." or ":" or is "localhost". When a
 * digest is given, a tag next to it is dropped (the digest decides what is pulled).
 */
public record ImageReference(String domain, String path, String tag, String digest) {
    public static final String DOCKER_HUB = "docker.io";

    private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    private static final Pattern DOMAIN = Pattern.compile(
            "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?");
    private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}");

    /** Parses and normalizes {@code text}; throws INVALID_ARGUMENT naming what is wrong. */
    public static ImageReference parse(String text) {
        if (text == null || text.isBlank()) {
            throw BerthException.invalid("image reference is empty");
        }
        if (text.length() > 4096 || !text.strip().equals(text) || text.chars().anyMatch(Character::isWhitespace)) {
            throw BerthException.invalid("image reference %s is malformed: it contains whitespace or is too long", quote(text));
        }
        String rest = text;
        String digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = rest.substring(at + 1);
            rest = rest.substring(0, at);
            if (!DIGEST.matcher(digest).matches()) {
                throw BerthException.invalid("image reference %s: %s", quote(text),
                        Digests.problem(digest.length() > 200 ? digest.substring(0, 200) : digest));
            }
        }
        String tag = null;
        int slash = rest.lastIndexOf('/');
        int colon = rest.lastIndexOf(':');
        if (colon > slash) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw BerthException.invalid("image reference %s has a malformed tag %s", quote(text), quote(tag));
            }
        }
        if (rest.isEmpty()) {
            throw BerthException.invalid("image reference %s has no repository name", quote(text));
        }
        String domain;
        String path;
        int first = rest.indexOf('/');
        String head = first < 0 ? rest : rest.substring(0, first);
        if (first >= 0 && (head.contains(".") || head.contains(":") || head.equals("localhost") || head.startsWith("["))) {
            domain = head;
            path = rest.substring(first + 1);
            if (!DOMAIN.matcher(domain).matches() || !addressable(domain)) {
                throw BerthException.invalid("image reference %s has a malformed registry host %s", quote(text), quote(domain));
            }
        } else {
            domain = DOCKER_HUB;
            path = rest;
        }
        if (domain.equals("index.docker.io") || domain.equals("registry-1.docker.io")) {
            domain = DOCKER_HUB;
        }
        if (domain.equals(DOCKER_HUB) && !path.contains("/")) {
            path = "library/" + path;
        }
        for (String c : path.split("/", -1)) {
            if (!COMPONENT.matcher(c).matches()) {
                throw BerthException.invalid("image reference %s is malformed: repository path component %s must be "
                        + "lowercase letters, digits and separators (. _ __ -)", quote(text), quote(c));
            }
        }
        if (domain.length() + path.length() + 1 > 255) {
            throw BerthException.invalid("image reference %s: repository name is longer than 255 characters", quote(text));
        }
        if (digest == null && tag == null) {
            tag = "latest";
        }
        if (digest != null) {
            tag = null;
        }
        return new ImageReference(domain, path, tag, digest);
    }

    /**
     * Whether {@code s} is a full image id: "sha256:" + 64 hex, or the 64 hex digits alone, or
     * "sha512:" + 128 hex (the config digest of an image made with sha512).
     */
    public static boolean isImageId(String s) {
        return s != null && (s.matches("sha256:[0-9a-f]{64}") || s.matches("[0-9a-f]{64}")
                || s.matches("sha512:[0-9a-f]{128}"));
    }

    /** "domain/path", the repository name. */
    public String name() {
        return domain + "/" + path;
    }

    /** The tag or digest the registry is asked for. */
    public String manifestReference() {
        return digest != null ? digest : tag;
    }

    public ImageReference withDigest(String d) {
        return new ImageReference(domain, path, null, d);
    }

    public boolean hasDigest() {
        return digest != null;
    }

    @Override
    public String toString() {
        return name() + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }

    private static String quote(String s) {
        return "\"" + (s.length() > 200 ? s.substring(0, 200) + "..." : s) + "\"";
    }

    /**
     * Whether a pull can address {@code domain}: java.net.URI reads a name whose last label starts
     * with a digit as no host at all, and a port must fit in 16 bits.
     */
    private static boolean addressable(String domain) {
        java.net.URI uri = java.net.URI.create("https://" + domain + "/");
        return uri.getHost() != null && uri.getPort() <= 65535;
    }
}
