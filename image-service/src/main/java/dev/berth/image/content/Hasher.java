package dev.berth.image.content;

import dev.berth.linux.NativeSha256;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Incremental hashing for content verification: libcrypto's SHA-256 when the host has it (fast
 * under the daemon's C1-only JIT), the JDK's MessageDigest otherwise and for sha512.
 */
public interface Hasher {
    void update(byte[] b, int off, int len);

    /** "sha256:<hex>"; call once. */
    String digest();

    static Hasher forDigest(String expected) {
        String alg = Digests.algorithm(expected);
        if (alg.equals("sha256")) {
            Optional<NativeSha256> n = NativeSha256.create();
            if (n.isPresent()) {
                NativeSha256 h = n.get();
                return new Hasher() {
                    @Override
                    public void update(byte[] b, int off, int len) {
                        h.update(b, off, len);
                    }

                    @Override
                    public String digest() {
                        return Digests.format("sha256", h.finish());
                    }
                };
            }
        }
        MessageDigest md = Digests.newDigest(expected);
        return new Hasher() {
            @Override
            public void update(byte[] b, int off, int len) {
                md.update(b, off, len);
            }

            @Override
            public String digest() {
                return Digests.format(alg, md.digest());
            }
        };
    }
}
