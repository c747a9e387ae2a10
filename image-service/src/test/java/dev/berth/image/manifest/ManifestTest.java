package dev.berth.image.manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestTest {
    private static Descriptor entry(String digestChar, String os, String arch, String variant) {
        return new Descriptor(MediaTypes.OCI_MANIFEST, "sha256:" + digestChar.repeat(64), 100, null, null,
                new Descriptor.Platform(arch, os, variant, null));
    }

    @Test
    void platformSelectionHonoursVariants() {
        List<Descriptor> index = List.of(entry("a", "linux", "arm", "v6"), entry("b", "linux", "arm", "v7"),
                entry("c", "linux", "amd64", "v3"), entry("d", "linux", "amd64", null), entry("e", "windows", "amd64", null),
                entry("f", "linux", "arm64", "v8"));
        assertEquals(index.get(3), PlatformSelector.LINUX_AMD64.select(index, "t"), "plain amd64 over amd64/v3");
        assertEquals(index.get(1), PlatformSelector.parse("linux/arm/v7").select(index, "t"));
        assertEquals(index.get(5), PlatformSelector.parse("linux/arm64").select(index, "t"), "lowest variant when none asked");
        BerthException e = assertThrows(BerthException.class,
                () -> PlatformSelector.parse("linux/s390x").select(index, "pull x"));
        assertEquals(ErrorKind.NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains("linux/arm/v7"), e.getMessage());
    }

    @Test
    void schema1AndUnknownTypesAreRefusedClearly() {
        byte[] schema1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}".getBytes(StandardCharsets.UTF_8);
        BerthException e = assertThrows(BerthException.class, () -> Manifest.parse(schema1, MediaTypes.DOCKER_SCHEMA1, "pull x"));
        assertEquals(ErrorKind.UNIMPLEMENTED, e.kind());
        assertTrue(e.getMessage().contains("schema 1"));
        BerthException bad = assertThrows(BerthException.class, () -> Manifest.parse("not json".getBytes(), "", "pull x"));
        assertEquals(ErrorKind.FAILED_PRECONDITION, bad.kind());
        byte[] noConfig = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"layers\":[]}"
                .getBytes(StandardCharsets.UTF_8);
        assertEquals(ErrorKind.FAILED_PRECONDITION,
                assertThrows(BerthException.class, () -> Manifest.parse(noConfig, "", "pull x")).kind());
    }

    @Test
    void indexesAndManifestsAreTold() {
        byte[] idx = ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" + MediaTypes.OCI_MANIFEST
                + "\",\"digest\":\"sha256:" + "a".repeat(64) + "\",\"size\":1}]}").getBytes(StandardCharsets.UTF_8);
        assertTrue(Manifest.parse(idx, MediaTypes.DOCKER_LIST, "t").isIndex());
    }

    @Test
    void manifestAnnotationsAreKept() {
        byte[] m = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":{\"mediaType\":"
                + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" + "c".repeat(64) + "\",\"size\":2},"
                + "\"layers\":[],\"annotations\":{\"io.kubernetes.cri-o.annotations.checkpoint.name\":\"counter\"}}")
                .getBytes(StandardCharsets.UTF_8);
        assertEquals(java.util.Map.of("io.kubernetes.cri-o.annotations.checkpoint.name", "counter"),
                Manifest.parse(m, "", "t").annotations());
        byte[] plain = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":{\"digest\":"
                + "\"sha256:" + "c".repeat(64) + "\",\"size\":2},\"layers\":[]}").getBytes(StandardCharsets.UTF_8);
        assertTrue(Manifest.parse(plain, "", "t").annotations().isEmpty());
    }
}
