package dev.berth.server.health;

import dev.berth.core.state.StateStore;
import dev.berth.server.CriSocketServer;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.host.HostChecks;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready means kubelet can use the daemon: the CRI socket serves, the default OCI runtime and
 * conmon are executable, and the state root and store answer. Each failing part is named.
 */
@Readiness
@ApplicationScoped
public class DaemonReadiness implements HealthCheck {
    @Inject
    CriSocketServer server;

    @Inject
    BerthConfig config;

    @Inject
    StateStore store;

    @Override
    public HealthCheckResponse call() {
        List<String> problems = new ArrayList<>();
        if (!server.serving()) {
            problems.add("CRI socket " + config.socket() + " is not serving");
        }
        problems.addAll(HostChecks.toolsAndStateProblems(config));
        if (!store.usable()) {
            problems.add("state store " + store.file() + " does not answer");
        }
        HealthCheckResponseBuilder b = HealthCheckResponse.named("berth").withData("socket", config.socket().toString());
        if (problems.isEmpty()) {
            return b.up().build();
        }
        return b.down().withData("reason", String.join("; ", problems)).build();
    }
}
