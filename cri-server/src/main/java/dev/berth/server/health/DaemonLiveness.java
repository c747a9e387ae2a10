package dev.berth.server.health;

import dev.berth.server.CriSocketServer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

/** Live while the process answers HTTP and its CRI server has not shut down. */
@Liveness
@ApplicationScoped
public class DaemonLiveness implements HealthCheck {
    @Inject
    CriSocketServer server;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("berth").status(server.serving()).build();
    }
}
