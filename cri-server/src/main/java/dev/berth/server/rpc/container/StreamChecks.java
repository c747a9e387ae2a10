package dev.berth.server.rpc.container;

import dev.berth.core.error.BerthException;
import dev.berth.runtime.container.ContainerRecord;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.sandbox.SandboxLookup;
import dev.berth.runtime.sandbox.SandboxView;

/** What Exec and Attach require before they hand out a URL (kubelet checks the same options). */
final class StreamChecks {
    private StreamChecks() {}

    static void options(String rpc, boolean tty, boolean stdin, boolean stdout, boolean stderr) {
        if (tty && stderr) {
            throw BerthException.invalid("%s: tty and stderr cannot both be true (a terminal has one output)", rpc);
        }
        if (!stdin && !stdout && !stderr) {
            throw BerthException.invalid("%s: one of stdin, stdout, or stderr must be set", rpc);
        }
    }

    /** The container exists and runs, and so does its pod. */
    static void running(ContainerService containers, SandboxLookup sandboxes, String id) {
        ContainerRecord rec = containers.status(id);
        if (rec.phase() != ContainerRecord.Phase.RUNNING) {
            throw BerthException.precondition("container %s is not running (%s)", id, rec.phase().name().toLowerCase());
        }
        SandboxView pod = sandboxes.find(rec.podId())
                .orElseThrow(() -> BerthException.notFound("pod sandbox %s of container %s does not exist", rec.podId(), id));
        if (!pod.ready()) {
            throw BerthException.precondition("pod sandbox %s of container %s is not ready", rec.podId(), id);
        }
    }
}
