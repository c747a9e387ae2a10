package dev.berth.cni;

import java.util.Optional;

/** Whether pods can get a network now: empty when ready, else why not (for CRI Status NetworkReady). */
public interface NetworkReadiness {
    Optional<String> notReadyReason();
}
