package dev.berth.server.rpc.image;

import dev.berth.image.FsUsage;
import dev.berth.image.ImageManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.FilesystemIdentifier;
import runtime.v1.FilesystemUsage;
import runtime.v1.ImageFsInfoRequest;
import runtime.v1.ImageFsInfoResponse;
import runtime.v1.UInt64Value;

/** ImageFsInfo: bytes and inodes the image store uses, and the mount it lives on (kubelet's image GC input). */
@ApplicationScoped
public class ImageFsInfoHandler {
    @Inject
    ImageManager images;

    public ImageFsInfoResponse handle(ImageFsInfoRequest req) {
        FsUsage u = images.fsInfo();
        return ImageFsInfoResponse.newBuilder()
                .addImageFilesystems(FilesystemUsage.newBuilder()
                        .setTimestamp(u.timestampNanos())
                        .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(u.mountpoint().toString()))
                        .setUsedBytes(UInt64Value.newBuilder().setValue(u.usedBytes()))
                        .setInodesUsed(UInt64Value.newBuilder().setValue(u.inodesUsed())))
                .build();
    }
}
