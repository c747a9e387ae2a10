package dev.berth.server.rpc.runtime;

import dev.berth.linux.Capabilities;
import dev.berth.linux.ProcStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How oom_score_adj values from kubelet are treated. Without CAP_SYS_RESOURCE a process cannot
 * lower its oom_score_adj, so containers get max(requested, daemon's own); Status says so.
 */
final class OomScore {
    private OomScore() {}

    static String describe() {
        int own = daemonOwn();
        return "requested values below " + own + " (the daemon's own oom_score_adj) are raised to " + own
                + (hasSysResource() ? "" : " because the daemon lacks CAP_SYS_RESOURCE");
    }

    static int daemonOwn() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/self/oom_score_adj")).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Whether CAP_SYS_RESOURCE is in the daemon's effective set. */
    static boolean hasSysResource() {
        try {
            return Capabilities.names(ProcStatus.ofSelf().mask("CapEff").orElse(0)).contains("CAP_SYS_RESOURCE");
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }
}
