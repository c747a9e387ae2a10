package dev.berth.runtime.sandbox;

import java.util.Optional;

/** How the container side finds the pod a container belongs to. */
public interface SandboxLookup {
    Optional<SandboxView> find(String sandboxId);
}
