package dev.berth.image.content;

import dev.berth.core.error.BerthException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Content digests ("sha256:<hex>"): validation, hashing, and the hex part used as a file name. */
public final class Digests {
    private static final Pattern VALID = Pattern.compile("sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}");

    private Digests() {}

    /** Throws if {@code digest} is not a well-formed sha256/sha512 digest (it names files on disk). */
    public static String check(String digest, String what) {
        if (digest == null || !VALID.matcher(digest).matches()) {
            throw BerthException.precondition("%s: malformed digest %s", what, digest);
        }
        return digest;
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
