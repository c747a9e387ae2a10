package dev.berth.linux.net;

import dev.berth.core.error.BerthException;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-interface traffic counters of a network namespace, from {@code /proc/net/dev} as the kernel
 * shows it to a thread inside that namespace. {@code /proc/self/net} follows the process' main
 * thread, so the read goes through {@code /proc/thread-self/net/dev} on a {@link NamespaceThread}
 * that joined the namespace.
 */
public final class NetDevices {
    /** One interface's counters since it was created. */
    public record Counters(String name, long rxBytes, long rxPackets, long rxErrors, long rxDropped, long txBytes,
            long txPackets, long txErrors, long txDropped) {}

    private NetDevices() {}

    /** The counters of every interface in the namespace pinned at {@code netns}. */
    public static List<Counters> read(Path netns) {
        String text = NamespaceThread.call("netdev", () -> {
            Namespaces.join(netns, Namespaces.CLONE_NEWNET);
            try {
                return Files.readString(Path.of("/proc/thread-self/net/dev"));
            } catch (IOException e) {
                throw BerthException.internal("cannot read /proc/net/dev in " + netns + ": " + e.getMessage(), e);
            }
        });
        return parse(text);
    }

    /** Parses the /proc/net/dev table (two header lines, then "name: 16 counters"). */
    public static List<Counters> parse(String text) {
        List<Counters> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || line.contains("|")) {
                continue;
            }
            String[] f = line.substring(colon + 1).strip().split("\\s+");
            if (f.length < 16) {
                continue;
            }
            try {
                out.add(new Counters(line.substring(0, colon).strip(), Long.parseLong(f[0]), Long.parseLong(f[1]),
                        Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[8]), Long.parseLong(f[9]),
                        Long.parseLong(f[10]), Long.parseLong(f[11])));
            } catch (NumberFormatException e) {
                // not a counter line
            }
        }
        return out;
    }
}
