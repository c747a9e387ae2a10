package dev.berth.conformance;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.conformance.harness.LocalRegistry;
import dev.berth.conformance.harness.TestImages;

/** What a test that runs containers from the local registry needs of this machine. */
public final class ContainerHost {
    private ContainerHost() {}

    /** Skips the test, saying what to install, unless it runs as root with docker-registry and busybox. */
    public static void assumeReady() {
        assumeTrue("root".equals(System.getProperty("user.name")), "containers need root");
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (apt-get install docker-registry)");
        assumeTrue(TestImages.available(), "/bin/busybox is missing (apt-get install busybox-static)");
    }
}
