package dev.berth.image.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Builds a small OCI image (gzip layers, config, manifest) in one digest algorithm and puts it in a registry. */
public final class TestImage {
    public static final String MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String INDEX = "application/vnd.oci.image.index.v1+json";

    public final String algorithm;
    public final List<byte[]> layers = new ArrayList<>();
    public final List<String> layerDigests = new ArrayList<>();
    public final List<String> diffIds = new ArrayList<>();
    public byte[] config;
    public String configDigest;
    public long configSize;
    public byte[] manifest;
    public String manifestDigest;

    private TestImage(String algorithm) {
        this.algorithm = algorithm;
    }

    /** One layer per file name, each holding that file with its name as content. */
    public static TestImage of(String algorithm, String... files) throws IOException {
        TestImage img = new TestImage(algorithm);
        for (String f : files) {
            byte[] tar = tar(f, f.getBytes(StandardCharsets.UTF_8));
            byte[] gz = gzip(tar);
            img.layers.add(gz);
            img.layerDigests.add(img.digest(gz));
            img.diffIds.add(img.digest(tar));
        }
        img.config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\","
                + "\"diff_ids\":[" + String.join(",", img.diffIds.stream().map(d -> "\"" + d + "\"").toList()) + "]}}")
                .getBytes(StandardCharsets.UTF_8);
        img.configDigest = img.digest(img.config);
        img.configSize = img.config.length;
        img.buildManifest();
        return img;
    }

    /** Rebuilds the manifest (after changing configSize, for instance). */
    public void buildManifest() {
        StringBuilder m = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"" + MANIFEST + "\",\"config\":{"
                + "\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest
                + "\",\"size\":" + configSize + "},\"layers\":[");
        for (int i = 0; i < layers.size(); i++) {
            m.append(i == 0 ? "" : ",").append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                    + "\"digest\":\"").append(layerDigests.get(i)).append("\",\"size\":").append(layers.get(i).length)
                    .append("}");
        }
        manifest = m.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        manifestDigest = digest(manifest);
    }

    /** An index with this image's manifest for linux/amd64. */
    public byte[] index() {
        return ("{\"schemaVersion\":2,\"mediaType\":\"" + INDEX + "\",\"manifests\":[{\"mediaType\":\"" + MANIFEST
                + "\",\"digest\":\"" + manifestDigest + "\",\"size\":" + manifest.length
                + ",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}").getBytes(StandardCharsets.UTF_8);
    }

    /** Puts blobs and the manifest under {@code reference} (a tag or a digest) into {@code r}. */
    public void pushTo(FakeRegistry r, String repo, String reference) {
        for (int i = 0; i < layers.size(); i++) {
            r.putBlob(layerDigests.get(i), layers.get(i));
        }
        r.putBlob(configDigest, config);
        r.putManifest(repo, reference, MANIFEST, manifest);
        r.putManifest(repo, manifestDigest, MANIFEST, manifest);
    }

    public String digest(byte[] data) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm.equals("sha512") ? "SHA-512" : "SHA-256");
            return algorithm + ":" + HexFormat.of().formatHex(md.digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static byte[] tar(String name, byte[] content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(bytes)) {
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setSize(content.length);
            e.setMode(0644);
            t.putArchiveEntry(e);
            t.write(content);
            t.closeArchiveEntry();
        }
        return bytes.toByteArray();
    }

    public static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(data);
        }
        return gz.toByteArray();
    }
}
