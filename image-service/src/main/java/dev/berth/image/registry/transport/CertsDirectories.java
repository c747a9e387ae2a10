package dev.berth.image.registry.transport;

import dev.berth.core.error.BerthException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Per-registry TLS material in the containers {@code certs.d} layout: for registry {@code host[:port]}
 * the directory {@code <dir>/<host[:port]>/} holds CA certificates ({@code *.crt}, trusted besides
 * the JDK's own CAs) and client certificates ({@code X.cert} with its key {@code X.key}, PEM; the
 * key PKCS#8 or PKCS#1 RSA). The first of the directories that has one for the registry wins
 * (berth's own before /etc/containers/certs.d).
 */
public final class CertsDirectories {
    private final List<Path> dirs;

    public CertsDirectories(List<Path> dirs) {
        this.dirs = List.copyOf(dirs);
    }

    /** The registry's directory, if any of the roots has one. */
    public Optional<Path> directoryFor(String hostPort) {
        if (hostPort.contains("/") || hostPort.contains("..")) {
            return Optional.empty();
        }
        return dirs.stream().map(d -> d.resolve(hostPort)).filter(Files::isDirectory).findFirst();
    }

    /** A stamp of the directory's files (names, sizes, times): a change means reload. */
    static String fingerprint(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            StringBuilder b = new StringBuilder();
            for (Path p : s.sorted().toList()) {
                b.append(p.getFileName()).append(':').append(Files.size(p)).append(':')
                        .append(Files.getLastModifiedTime(p).toMillis()).append(';');
            }
            return b.toString();
        } catch (IOException e) {
            return "unreadable:" + e.getMessage();
        }
    }

    /** The TLS context for a registry whose directory this is; INVALID/FAILED_PRECONDITION naming the file. */
    public static SSLContext sslContext(Path dir) {
        try {
            List<X509Certificate> cas = new ArrayList<>();
            List<Path> clientCerts = new ArrayList<>();
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.sorted().toList()) {
                    String n = p.getFileName().toString();
                    if (n.endsWith(".crt")) {
                        cas.addAll(certificates(p));
                    } else if (n.endsWith(".cert")) {
                        clientCerts.add(p);
                    }
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            // the JDK's CAs stay trusted, as containers/image adds certs.d CAs to the system pool
            TrustManagerFactory system = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            system.init((KeyStore) null);
            int i = 0;
            for (var tm : system.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    for (X509Certificate c : x.getAcceptedIssuers()) {
                        trust.setCertificateEntry("system-" + i++, c);
                    }
                }
            }
            for (X509Certificate c : cas) {
                trust.setCertificateEntry("certs.d-" + i++, c);
            }
            tmf.init(trust);

            KeyManagerFactory kmf = null;
            if (!clientCerts.isEmpty()) {
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                char[] none = new char[0];
                for (Path cert : clientCerts) {
                    String base = cert.getFileName().toString().replaceFirst("\\.cert$", "");
                    Path key = dir.resolve(base + ".key");
                    if (!Files.exists(key)) {
                        throw BerthException.precondition("client certificate %s has no key %s", cert, key);
                    }
                    keys.setKeyEntry(base, privateKey(key), none,
                            certificates(cert).toArray(new Certificate[0]));
                }
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, none);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw BerthException.precondition("registry TLS files in %s are unusable: %s", dir, e.getMessage());
        }
    }

    static List<X509Certificate> certificates(Path pem) throws IOException, GeneralSecurityException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        for (Certificate c : cf.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(pem)))) {
            out.add((X509Certificate) c);
        }
        if (out.isEmpty()) {
            throw new GeneralSecurityException(pem + " holds no certificate");
        }
        return out;
    }

    static PrivateKey privateKey(Path pem) throws IOException, GeneralSecurityException {
        String text = Files.readString(pem, StandardCharsets.US_ASCII);
        byte[] der;
        if (text.contains("-----BEGIN PRIVATE KEY-----")) {
            der = block(text, "PRIVATE KEY");
        } else if (text.contains("-----BEGIN RSA PRIVATE KEY-----")) {
            der = pkcs1ToPkcs8(block(text, "RSA PRIVATE KEY"));
        } else {
            throw new GeneralSecurityException(pem + ": the key must be PEM PKCS#8 (BEGIN PRIVATE KEY) or PKCS#1 RSA;"
                    + " convert with: openssl pkcs8 -topk8 -nocrypt -in " + pem);
        }
        GeneralSecurityException last = null;
        for (String alg : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException(pem + ": not an RSA, EC or Ed25519 key (" + last.getMessage() + ")");
    }

    private static byte[] block(String text, String label) {
        String begin = "-----BEGIN " + label + "-----";
        int a = text.indexOf(begin) + begin.length();
        int b = text.indexOf("-----END " + label + "-----", a);
        return Base64.getMimeDecoder().decode(text.substring(a, b));
    }

    /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo (version 0, rsaEncryption, NULL). */
    private static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01,
                0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algorithm.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
        System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] len = n < 0x80 ? new byte[] {(byte) n}
                : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
                : n < 0x10000 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
                : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + len.length + n];
        out[0] = (byte) tag;
        System.arraycopy(len, 0, out, 1, len.length);
        System.arraycopy(content, 0, out, 1 + len.length, n);
        return out;
    }
}
