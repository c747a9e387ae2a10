package dev.berth.image;

import java.nio.file.Path;

/** Disk use of the image store, for ImageFsInfo. */
public record FsUsage(Path mountpoint, long usedBytes, long inodesUsed, long timestampNanos) {}
