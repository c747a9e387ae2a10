package dev.berth.image.layer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.state.StateStore;
import dev.berth.linux.LinuxException;
import dev.berth.linux.Mounts;
import dev.berth.linux.OverlayMount;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image of 128 layers mounts: the absolute lowerdir paths would overflow mount(2)'s one-page
 * options (about 40 layers fit), the layer store's short names do not. Needs root; the mount lives in
 * a private mount namespace that ends with its thread.
 */
class ManyLayersTest {
    @TempDir
    Path tmp;

    @Test
    void anImageOf128LayersMountsThroughShortNames() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting needs root");
        Path root = tmp.resolve("a-store-root-as-long-as-a-real-one/var/lib/berth/images/layers");
        try (StateStore state = StateStore.open(tmp.resolve("state"))) {
            LayerStore store = new LayerStore(root, state);
            List<Path> lowers = new ArrayList<>();
            List<Path> absolute = new ArrayList<>();
            for (int i = 0; i < 128; i++) {
                String diffId = "sha256:" + HexFormat.of().toHexDigits(i) + "0".repeat(56);
                int n = i;
                store.create(diffId, dir -> {
                    Files.writeString(dir.resolve("f" + n), "layer " + n);
                    Files.writeString(dir.resolve("top"), "layer " + n);
                    return new LayerStore.Usage(1, 4096, 2);
                });
                lowers.addFirst(store.lowerDir(diffId)); // top-most first
                absolute.addFirst(store.dir(diffId));
            }
            String naive = "lowerdir=" + String.join(":", absolute.stream().map(Path::toString).toList());
            assertTrue(naive.length() > 4096, "the case this test is about: " + naive.length() + " bytes");
            assertTrue(lowers.stream().allMatch(Files::isDirectory));

            Path upper = Files.createDirectories(tmp.resolve("c/upper"));
            Path work = Files.createDirectories(tmp.resolve("c/work"));
            Path merged = Files.createDirectories(tmp.resolve("c/rootfs"));
            List<String> seen = NamespaceThread.call("many-layers-test", () -> {
                Namespaces.unshare(Namespaces.CLONE_NEWNS);
                Mounts.mount(null, Path.of("/"), null, Mounts.MS_REC | Mounts.MS_PRIVATE, null);
                // What berth did before short names: the kernel refuses the truncated options.
                assertThrows(LinuxException.class, () -> Mounts.mount("overlay", merged, "overlay", Mounts.MS_NODEV,
                        naive + ",upperdir=" + upper + ",workdir=" + work));
                OverlayMount.mount(lowers, upper, work, merged, Mounts.MS_NODEV);
                try {
                    List<String> out = new ArrayList<>();
                    out.add(Files.readString(merged.resolve("top")));
                    out.add(Files.readString(merged.resolve("f0")));
                    out.add(Files.readString(merged.resolve("f127")));
                    return out;
                } finally {
                    Mounts.unmount(merged, 0);
                }
            });
            assertEquals(List.of("layer 127", "layer 0", "layer 127"), seen);
        }
    }

    @Test
    void shortNamesSurviveRecoveryAndGoWithTheirLayer() throws Exception {
        Path root = tmp.resolve("layers");
        try (StateStore state = StateStore.open(tmp.resolve("state2"))) {
            LayerStore store = new LayerStore(root, state);
            String diffId = "sha256:" + "a".repeat(64);
            store.create(diffId, dir -> new LayerStore.Usage(0, 4096, 1));
            Path link = store.lowerDir(diffId);
            assertTrue(Files.isSymbolicLink(link) && link.getParent().getFileName().toString().equals("l"));
            Files.createSymbolicLink(root.resolveSibling("l/ORPHAN"), Path.of("../gone"));
            Files.delete(link); // lost in a crash
            store.recover();
            Path relinked = store.lowerDir(diffId);
            assertTrue(Files.isSymbolicLink(relinked) && Files.isDirectory(relinked));
            assertTrue(Files.notExists(root.resolveSibling("l/ORPHAN"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
            store.delete(diffId);
            try (var s = Files.list(root.resolveSibling("l"))) {
                assertEquals(0, s.count());
            }
        }
    }
}
