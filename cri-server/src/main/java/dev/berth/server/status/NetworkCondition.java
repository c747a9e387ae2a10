package dev.berth.server.status;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;

/**
 * NetworkReady for Status. Until a pod network is wired into the daemon there is none, and Status
 * says so rather than claiming readiness.
 */
@ApplicationScoped
public class NetworkCondition {
    public Optional<String> notReadyReason() {
        return Optional.of("no pod network is wired into this berth build yet");
    }
}
