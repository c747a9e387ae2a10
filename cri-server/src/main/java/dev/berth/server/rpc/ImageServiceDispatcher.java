package dev.berth.server.rpc;

import dev.berth.server.rpc.image.ImageFsInfoHandler;
import dev.berth.server.rpc.image.ImageStatusHandler;
import dev.berth.server.rpc.image.ListImagesHandler;
import dev.berth.server.rpc.image.PullImageHandler;
import dev.berth.server.rpc.image.RemoveImageHandler;
import io.grpc.stub.StreamObserver;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import runtime.v1.ImageFsInfoRequest;
import runtime.v1.ImageFsInfoResponse;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.ImageStatusRequest;
import runtime.v1.ImageStatusResponse;
import runtime.v1.ListImagesRequest;
import runtime.v1.ListImagesResponse;
import runtime.v1.PullImageRequest;
import runtime.v1.PullImageResponse;
import runtime.v1.RemoveImageRequest;
import runtime.v1.RemoveImageResponse;

/**
 * runtime.v1.ImageService: dispatch only, one line per RPC into its handler. RPCs not overridden
 * here answer UNIMPLEMENTED naming the method.
 */
@ApplicationScoped
public class ImageServiceDispatcher extends ImageServiceGrpc.ImageServiceImplBase {
    @Inject
    PullImageHandler pullImage;

    @Inject
    ImageStatusHandler imageStatus;

    @Inject
    ListImagesHandler listImages;

    @Inject
    RemoveImageHandler removeImage;

    @Inject
    ImageFsInfoHandler imageFsInfo;

    @Inject
    dev.berth.server.rpc.image.StreamImagesHandler streamImages;

    @Override
    public void pullImage(PullImageRequest request, StreamObserver<PullImageResponse> observer) {
        Rpc.unary(observer, () -> pullImage.handle(request));
    }

    @Override
    public void imageStatus(ImageStatusRequest request, StreamObserver<ImageStatusResponse> observer) {
        Rpc.unary(observer, () -> imageStatus.handle(request));
    }

    @Override
    public void listImages(ListImagesRequest request, StreamObserver<ListImagesResponse> observer) {
        Rpc.unary(observer, () -> listImages.handle(request));
    }

    @Override
    public void removeImage(RemoveImageRequest request, StreamObserver<RemoveImageResponse> observer) {
        Rpc.unary(observer, () -> removeImage.handle(request));
    }

    @Override
    public void imageFsInfo(ImageFsInfoRequest request, StreamObserver<ImageFsInfoResponse> observer) {
        Rpc.unary(observer, () -> imageFsInfo.handle(request));
    }

    @Override
    public void streamImages(runtime.v1.StreamImagesRequest request,
            StreamObserver<runtime.v1.StreamImagesResponse> observer) {
        RpcStream.chunked(observer, () -> streamImages.items(request),
                c -> runtime.v1.StreamImagesResponse.newBuilder().addAllImages(c).build());
    }
}
