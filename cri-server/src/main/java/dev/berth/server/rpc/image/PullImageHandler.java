package dev.berth.server.rpc.image;

import dev.berth.core.error.BerthException;
import dev.berth.image.ImageManager;
import dev.berth.image.registry.auth.RegistryCredentials;
import dev.berth.server.metrics.RuntimeMeters;
import io.grpc.Context;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;
import runtime.v1.AuthConfig;
import runtime.v1.PullImageRequest;
import runtime.v1.PullImageResponse;

/**
 * PullImage: fetches the image (with the request's credentials, if any, for the registry that
 * auth.server_address names) and returns its id as image_ref. A cancelled call stops the pull.
 */
@ApplicationScoped
public class PullImageHandler {
    private static final Logger LOG = Logger.getLogger(PullImageHandler.class);

    @Inject
    ImageManager images;

    @Inject
    RuntimeMeters meters;

    public PullImageResponse handle(PullImageRequest req) {
        String image = req.getImage().getImage();
        if (image.isEmpty()) {
            throw BerthException.invalid("PullImage: image.image is required (e.g. \"docker.io/library/busybox:1.36\")");
        }
        RegistryCredentials creds = RegistryCredentials.NONE;
        if (req.hasAuth()) {
            AuthConfig a = req.getAuth();
            creds = new RegistryCredentials(a.getUsername(), a.getPassword(), a.getAuth(), a.getIdentityToken(),
                    a.getRegistryToken(), a.getServerAddress());
        }
        long start = System.nanoTime();
        String id = pullUntilCancelled(image, creds);
        LOG.infof("pulled %s as %s in %d ms", image, id, (System.nanoTime() - start) / 1_000_000);
        return PullImageResponse.newBuilder().setImageRef(id).build();
    }

    /**
     * Pulls on this thread; when the client cancels the call (or its deadline passes) the thread is
     * interrupted, which ends the pull's downloads and waits.
     */
    private String pullUntilCancelled(String image, RegistryCredentials creds) {
        Context ctx = Context.current();
        Thread caller = Thread.currentThread();
        Context.CancellationListener onCancel = c -> caller.interrupt();
        ctx.addListener(onCancel, Runnable::run);
        meters.pullStarted();
        try {
            return images.pull(image, creds);
        } finally {
            meters.pullEnded();
            ctx.removeListener(onCancel);
            Thread.interrupted(); // a cancellation that raced the end must not reach the next work on this thread
        }
    }
}
