package dev.berth.server.status;

import dev.berth.cni.NetworkReadiness;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;

/** NetworkReady for Status: the pod network's readiness (CNI config present, plugins found, STATUS). */
@ApplicationScoped
public class NetworkCondition {
    @Inject
    NetworkReadiness network;

    public Optional<String> notReadyReason() {
        return network.notReadyReason();
    }

    public String networkInUse() {
        return network.networkInUse();
    }
}
