package dev.berth.runtime.oci;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * An OCI runtime binary (runc, crun) driven through its command line. Creation itself goes through
 * the monitor (conmon runs {@code <runtime> create}); everything after that goes through here.
 */
public interface OciRuntime {
    /** The handler name this runtime serves ("runc", "crun", or a RuntimeClass handler). */
    String handler();

    /** The runtime binary. */
    Path binary();

    /** The runtime's state directory (its {@code --root}). */
    Path root();

    /** What this runtime (on this kernel) supports beyond OCI 1.0; probed once. */
    OciFeatures features();

    void start(String id);

    /** Sends {@code signal} (a name like "TERM" or a number) to the container's init process. */
    void kill(String id, String signal);

    /** Deletes the container; with {@code force} a running one is killed first. Absent is fine. */
    void delete(String id, boolean force);

    /** The runtime's view of the container, empty when it does not know it. */
    Optional<OciState> state(String id);

    /** Applies new resources (an OCI LinuxResources JSON document) to a running container. */
    void update(String id, Path resourcesJson);

    /**
     * The command line that execs a process (an OCI Process JSON file) in the container without a
     * terminal, writing the new process's host pid to {@code pidFile}.
     */
    List<String> execCommand(String id, Path processJson, Path pidFile);

    /**
     * Dumps the running container with CRIU into {@code imagePath}, leaving it running; CRIU's
     * work files and dump.log go to {@code workPath}.
     */
    default void checkpoint(String id, Path imagePath, Path workPath, long timeoutMillis) {
        throw dev.berth.core.error.BerthException.precondition("runtime %s cannot checkpoint containers", handler());
    }

    /** Freezes every process of the container (its cgroup's freezer). */
    default void pause(String id) {
        throw dev.berth.core.error.BerthException.precondition("runtime %s cannot pause containers", handler());
    }

    /** Thaws a container {@link #pause} froze. */
    default void resume(String id) {
        throw dev.berth.core.error.BerthException.precondition("runtime %s cannot resume containers", handler());
    }

    /** What {@code <runtime> state} reports. */
    record OciState(String status, int pid) {}
}
