package dev.berth.runtime.checkpoint;

import dev.berth.core.error.BerthException;
import dev.berth.linux.RuntimeCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Whether CRIU can checkpoint and restore on this host, as {@code criu check} says. Probed once (the
 * answer depends on the kernel and the criu build, neither changes while the daemon runs) and kept
 * with CRIU's own words when it refuses, so CheckpointContainer and Status can name the reason.
 */
public record CriuSupport(boolean available, String reason) {
    /** Where Debian's criu package installs the binary. */
    public static final Path DEFAULT_BINARY = Path.of("/usr/sbin/criu");

    private static volatile CriuSupport host;

    /** The host's answer, probed on first use. */
    public static CriuSupport host() {
        CriuSupport h = host;
        if (h == null) {
            synchronized (CriuSupport.class) {
                if (host == null) {
                    host = probe(DEFAULT_BINARY);
                }
                h = host;
            }
        }
        return h;
    }

    /** Runs {@code criu check} and keeps its verdict. */
    public static CriuSupport probe(Path criu) {
        if (!Files.isExecutable(criu)) {
            return new CriuSupport(false, "criu is not installed (" + criu + " missing; Debian package criu)");
        }
        RuntimeCommand.Result r;
        try {
            r = RuntimeCommand.run(List.of(criu.toString(), "check"), java.util.Map.of(), 30_000, 64 * 1024, null);
        } catch (BerthException e) {
            return new CriuSupport(false, "cannot run " + criu + " check: " + e.getMessage());
        }
        String said = (r.out() + "\n" + r.err()).strip();
        if (r.ok() && said.contains("Looks good")) {
            return new CriuSupport(true, "criu check: Looks good");
        }
        // CRIU prints its errors on stderr as "Error (file:line): text"; those lines are the reason.
        String errors = said.lines().filter(l -> l.startsWith("Error") || l.contains("rror"))
                .map(String::strip).collect(Collectors.joining("; "));
        return new CriuSupport(false, "criu check failed (exit " + r.exitCode() + "): "
                + (errors.isEmpty() ? said : errors));
    }

    /** Throws FAILED_PRECONDITION naming CRIU's reason when it cannot work here. */
    public void require(String what) {
        if (!available) {
            throw BerthException.precondition("%s needs CRIU, which cannot work on this host: %s", what, reason);
        }
    }
}
