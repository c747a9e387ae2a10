package dev.berth.cni;

import java.util.Optional;

/** Whether pods can get a network now: empty when ready, else why not (for CRI Status NetworkReady). */
public interface NetworkReadiness {
    Optional<String> notReadyReason();

    /** Which network new pods get and where its config comes from (for Status and logs). */
    String networkInUse();
}
