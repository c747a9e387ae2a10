package dev.berth.runtime.container;

import java.nio.file.Path;

/**
 * Where a container's files live. Under the state root (persistent): the writable layer, the
 * bundle (config.json, the rootfs mount point, conmon's control FIFOs) and the monitor's
 * persist directory with its exit file.
 */
public record ContainerPaths(Path dir) {
    public static ContainerPaths of(Path containersRoot, String id) {
        return new ContainerPaths(containersRoot.resolve(id));
    }

    public Path upper() {
        return dir.resolve("upper");
    }

    public Path work() {
        return dir.resolve("work");
    }

    /** An empty lower layer for images without layers (overlayfs needs at least one). */
    public Path emptyLower() {
        return dir.resolve("empty");
    }

    public Path bundle() {
        return dir.resolve("bundle");
    }

    public Path rootfs() {
        return bundle().resolve("rootfs");
    }

    public Path configJson() {
        return bundle().resolve("config.json");
    }

    /** Where an idmapped, read-only view of the image layers is mounted while the rootfs is made (userns). */
    public Path idmappedLayers() {
        return dir.resolve("idmap-layers");
    }

    /** Where idmapped views of bind mount sources wait for the runtime to take them (userns). */
    public Path idmappedBinds() {
        return dir.resolve("idmap-binds");
    }

    public Path persist() {
        return dir.resolve("monitor");
    }
}
