package dev.berth.server.wiring;

import dev.berth.core.state.StateStore;
import dev.berth.image.ImageManager;
import dev.berth.image.PullListener;
import dev.berth.image.registry.config.RegistriesConf;
import dev.berth.image.registry.transport.CertsDirectories;
import dev.berth.image.registry.transport.EnvironmentProxy;
import dev.berth.image.registry.transport.RegistryHttp;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.metrics.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The image store (also the {@link dev.berth.image.ImageLookup} the container side injects) under
 * {@code <root>/images}, with registries.conf and download parallelism from the config, and its
 * metrics: pulls by result, bytes pulled, pull duration histogram, store size and images stored.
 */
@ApplicationScoped
public class ImageProducers {
    private static final Logger LOG = Logger.getLogger(ImageProducers.class);

    @Produces
    @Singleton
    ImageManager images(BerthConfig config, StateStore store, MeterRegistry registry) {
        ImageManager.Options options = ImageManager.Options.defaults(config.root().resolve("images"))
                .withRegistriesConf(config.registriesConf())
                .withMaxConcurrentDownloads(config.maxConcurrentDownloads());
        PullListener metrics = (result, bytes, duration) -> {
            Counter.builder(Meters.IMAGE_PULLS).description("image pulls by result")
                    .tag(Meters.TAG_RESULT, result).register(registry).increment();
            Counter.builder(Meters.IMAGE_PULLED_BYTES).description("bytes downloaded from registries by pulls")
                    .baseUnit("bytes").register(registry).increment(bytes);
            Timer.builder(Meters.IMAGE_PULL_DURATION).description("image pull duration by result")
                    .tag(Meters.TAG_RESULT, result).serviceLevelObjectives(Meters.PULL_BUCKETS)
                    .register(registry).record(duration);
        };
        try {
            // Read at every pull; checked here too so a broken file shows in the log at start, not at the first pull.
            RegistriesConf.load(config.registriesConf());
        } catch (RuntimeException e) {
            LOG.errorf("registries config: %s", e.getMessage());
        }
        // proxy from the unit's environment (as containerd); certs.d beside berth's config, then containers'
        EnvironmentProxy proxy = EnvironmentProxy.from(System.getenv());
        if (proxy.configured()) {
            LOG.infof("registry proxy: %s", proxy.describe());
        }
        Path configDir = config.file() == null || config.file().getParent() == null ? Path.of("/etc/berth")
                : config.file().getParent();
        RegistryHttp transport = new RegistryHttp(options.connectTimeout(), proxy, new CertsDirectories(
                List.of(configDir.resolve("certs.d"), Path.of("/etc/containers/certs.d"))));
        ImageManager images = ImageManager.open(options, store, metrics, transport);
        Gauge.builder(Meters.IMAGE_STORE_BYTES, images, ImageManager::storeBytes)
                .description("disk bytes used by the image store").baseUnit("bytes").register(registry);
        Gauge.builder(Meters.IMAGES, images, ImageManager::imageCount)
                .description("images in the store").register(registry);
        return images;
    }

    void close(@Disposes ImageManager images) {
        images.close();
    }
}
