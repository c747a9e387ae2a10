package dev.berth.image.content;

import dev.berth.core.error.BerthException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Content digests ("sha256:<hex>", "sha512:<hex>", the algorithms the OCI image spec registers):
 * validation, hashing, and the hex part used as a file name.
 */
public final class Digests {
    private static final Pattern VALID = Pattern.compile("sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}");
    private static final Pattern SHAPE = Pattern.compile("[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+");

    private Digests() {}

    /**
     * Throws FAILED_PRECONDITION if {@code digest} (from a registry's document) is not a well-formed
     * sha256/sha512 digest (it names files on disk).
     */
    public static String check(String digest, String what) {
        if (digest == null || !VALID.matcher(digest).matches()) {
            throw BerthException.precondition("%s: %s", what, problem(digest));
        }
        return digest;
    }

    /** What is wrong with a digest that does not match: an algorithm berth does not know, or its form. */
    public static String problem(String digest) {
        if (digest != null && SHAPE.matcher(digest).matches()) {
            String alg = algorithm(digest);
            if (!alg.equals("sha256") && !alg.equals("sha512")) {
                return "digest " + digest + " uses the unsupported algorithm " + alg
                        + " (supported: sha256, sha512, as the OCI image spec registers)";
            }
        }
        return "malformed digest " + digest + " (expected sha256:<64 hex digits> or sha512:<128 hex digits>)";
    }

    /** "sha256:<hex>" or "sha512:<hex>" of {@code data}, in the algorithm of {@code like}. */
    public static String compute(String like, byte[] data) {
        return format(algorithm(like), newDigest(like).digest(data));
    }

    public static String algorithm(String digest) {
        return digest.substring(0, digest.indexOf(':'));
    }

    public static String hex(String digest) {
        return digest.substring(digest.indexOf(':') + 1);
    }

    public static MessageDigest newDigest(String digest) {
        try {
            return MessageDigest.getInstance(algorithm(digest).equals("sha512") ? "SHA-512" : "SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256(byte[] data) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String format(String algorithm, byte[] hash) {
        return algorithm + ":" + HexFormat.of().formatHex(hash);
    }
}
