package dev.berth.server.rpc.image;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.berth.core.error.BerthException;
import dev.berth.core.state.StateStore;
import dev.berth.image.ImageManager;
import io.grpc.Context;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.ImageSpec;
import runtime.v1.PullImageRequest;

class PullImageHandlerTest {
    @TempDir
    Path tmp;

    /** A client that cancels PullImage (or whose deadline passes) stops the pull; it does not run on. */
    @Test
    void aCancelledCallStopsThePull() throws Exception {
        HttpServer registry = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        registry.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        registry.createContext("/", ex -> { // headers, then nothing
            ex.sendResponseHeaders(200, 1000);
            OutputStream out = ex.getResponseBody();
            out.write(new byte[10]);
            out.flush();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        registry.start();
        try (StateStore state = StateStore.open(tmp.resolve("state"));
                ImageManager images = ImageManager.open(ImageManager.Options.defaults(tmp.resolve("images"))
                        .withStallTimeout(Duration.ofMinutes(5)), state, null)) {
            PullImageHandler handler = new PullImageHandler();
            handler.images = images;
            handler.meters = new dev.berth.server.metrics.RuntimeMeters();
            PullImageRequest req = PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder()
                    .setImage("127.0.0.1:" + registry.getAddress().getPort() + "/app:1")).build();
            Context.CancellableContext call = Context.current().withCancellation();
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> call.run(() -> {
                try {
                    handler.handle(req);
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            }));
            Thread.sleep(500);
            call.cancel(null);
            Throwable t = outcome.get(10, TimeUnit.SECONDS);
            BerthException e = assertThrows(BerthException.class, () -> {
                throw t;
            });
            assertTrue(e.getMessage().contains("cancelled"), e.getMessage());
        } finally {
            registry.stop(0);
        }
    }
}
