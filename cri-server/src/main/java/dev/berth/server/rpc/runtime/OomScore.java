package dev.berth.server.rpc.runtime;

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

    /** CAP_SYS_RESOURCE is bit 24 of the effective capability set. */
    static boolean hasSysResource() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    long caps = Long.parseUnsignedLong(line.substring(7).trim(), 16);
                    return (caps & (1L << 24)) != 0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false;
        }
        return false;
    }
}
