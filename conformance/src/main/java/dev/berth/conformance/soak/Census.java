package dev.berth.conformance.soak;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.BridgeNetwork;
import dev.berth.conformance.harness.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * What pod cycles can leave behind on the node, by kind, as the items themselves (so a difference
 * can name what leaked): mounts and pinned network namespaces in the daemon's mount namespace,
 * host veths on the daemon's bridge, firewall rules naming its bridge or subnet (iptables and nft),
 * IPAM lease files, cgroups under the soak's own cgroup parent, conmon processes and other
 * processes in the namespace; and the daemon's open fds and threads as counts.
 *
 * <p>Only what can be this daemon's is counted: other work on the machine adds links, rules and
 * cgroups meanwhile.
 */
public record Census(Map<String, Set<String>> items, long fds, long threads, long rssKiB,
        Map<String, Long> threadNames) {

    /** Kinds whose items must be the same before and after; fds and threads must not grow. */
    public static final List<String> KINDS = List.of("mounts", "netns", "veths", "iptables rules", "nft rules",
            "IPAM leases", "cgroups", "runtime state", "pod/ctr dirs", "conmon processes", "other processes");

    /** The pod cgroup parent every soak pod uses, so its cgroups can be told from other daemons'. */
    public static String cgroupTop(BerthDaemon d) {
        return "berth-soak-" + d.httpPort();
    }

    /**
     * Removes the soak's cgroup parent where nothing is left in it (rmdir refuses a busy cgroup):
     * berth removes pod cgroups, never the parent it was given, which is the caller's as kubelet's
     * kubepods is kubelet's.
     */
    public static void removeTop(BerthDaemon d) {
        d.namespace().run("sh", "-c", "find /sys/fs/cgroup/" + cgroupTop(d)
                + " -depth -type d -exec rmdir {} + 2>/dev/null; true");
    }

    public static Census take(BerthDaemon d) {
        Map<String, Set<String>> items = new LinkedHashMap<>();
        KINDS.forEach(k -> items.put(k, new TreeSet<>()));
        String bridge = d.env().get("BERTH_CNI_BRIDGE");
        String subnet = d.env().get("BERTH_CNI_DEFAULT_SUBNET");
        String subnetPrefix = subnet.substring(0, subnet.lastIndexOf('.') + 1);
        for (String line : d.namespace().run("cat", "/proc/self/mountinfo").output().split("\n")) {
            // id parent major:minor root mountpoint options ... - fstype source superoptions
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (f.length < 5 || dash < 0 || !f[4].startsWith(d.base().toString())
                    || f[4].startsWith(d.base().resolve("ns").toString())) {
                continue;
            }
            items.get("mounts").add(f[4] + " (" + f[dash + 1] + ")");
            if (f[dash + 1].equals("nsfs") && f[3].startsWith("net:")) {
                items.get("netns").add(f[4]);
            }
        }
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net"))) {
            s.filter(p -> enslavedTo(p, bridge)).forEach(p -> items.get("veths").add(p.getFileName().toString()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        for (String line : Commands.run("iptables-save").output().split("\n")) {
            // the bridge's base chains stay while the network is idle: only what pods hold counts
            if (!line.startsWith("#") && (line.contains(bridge) || line.contains(subnetPrefix))
                    && !BridgeNetwork.isBaseRule(line.replaceAll(" \\[\\d+:\\d+\\]", ""), bridge)) {
                items.get("iptables rules").add(line.replaceAll("\\[\\d+:\\d+\\]", ""));
            }
        }
        for (String line : BridgeNetwork.nftWithoutBase(Commands.run("nft", "list", "ruleset").output(), bridge)) {
            if (line.contains(bridge) || line.contains(subnetPrefix)) {
                // counters and handles change with traffic; the rule does not
                items.get("nft rules").add(line.strip().replaceAll("counter packets \\d+ bytes \\d+ ?", ""));
            }
        }
        // read inside the namespace: the state root may be a mount only the daemon sees (disk-full runs)
        Path leases = d.root().resolve("cni");
        // each with its holder (the lease file's first line), so a leaked lease names its pod
        String files = d.namespace().run("sh", "-c", "find " + leases + " -type f ! -name lock ! -name 'last_reserved_ip*'"
                + " -exec sh -c 'for f; do echo \"$f held by $(head -n1 \"$f\")\"; done' sh {} + 2>/dev/null").output();
        for (String l : files.split("\n")) {
            if (!l.isBlank()) {
                items.get("IPAM leases").add(l.substring(Math.min(l.length(), leases.toString().length() + 1)));
            }
        }
        String cg = d.namespace().run("sh", "-c", "find /sys/fs/cgroup/" + cgroupTop(d)
                + " -mindepth 1 -type d 2>/dev/null").output();
        for (String l : cg.split("\n")) {
            if (!l.isBlank()) {
                items.get("cgroups").add(l);
            }
        }
        // runc's state per container (run/oci/<handler>/<id>), and berth's pod and container directories
        String state = d.namespace().run("sh", "-c", "find " + d.run().resolve("oci") + " -mindepth 2 -maxdepth 2 2>/dev/null;"
                + " echo ---; find " + d.run().resolve("pods") + " " + d.root().resolve("containers")
                + " -mindepth 1 -maxdepth 1 2>/dev/null").output();
        String kind = "runtime state";
        for (String l : state.split("\n")) {
            if (l.equals("---")) {
                kind = "pod/ctr dirs";
            } else if (!l.isBlank()) {
                items.get(kind).add(l);
            }
        }
        long java = daemonJavaPid(d);
        for (long pid : d.namespace().processes()) {
            if (pid == java || pid == d.pid()) {
                continue;
            }
            String cmd = cmdline(pid);
            items.get(cmd.contains("conmon") ? "conmon processes" : "other processes").add(pid + " " + cmd);
        }
        long fds = -1;
        long threads = -1;
        long rss = -1;
        if (java > 0) {
            try (Stream<Path> s = Files.list(Path.of("/proc/" + java + "/fd"))) {
                fds = s.count();
            } catch (IOException gone) {
                // daemon not running
            }
            threads = statusField(java, "Threads:");
            rss = statusField(java, "VmRSS:");
        }
        return new Census(items, fds, threads, rss, java > 0 ? threadNames(java) : Map.of());
    }

    /** The daemon's threads by name (the kernel's 15-character comm), counted: says which pool grew. */
    private static Map<String, Long> threadNames(long pid) {
        Map<String, Long> names = new TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    names.merge(Files.readString(t.resolve("comm")).strip(), 1L, Long::sum);
                } catch (IOException ended) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException gone) {
            // daemon not running
        }
        return names;
    }

    /** The daemon's JVM: the process started (nsenter execs it) or, if nsenter forked, its child. */
    public static long daemonJavaPid(BerthDaemon d) {
        if (d.process() == null || !d.process().isAlive()) {
            return -1;
        }
        if (cmdline(d.pid()).contains("quarkus-run.jar") && !cmdline(d.pid()).startsWith("nsenter")) {
            return d.pid();
        }
        return d.process().toHandle().children().filter(c -> cmdline(c.pid()).contains("quarkus-run.jar"))
                .map(ProcessHandle::pid).findFirst().orElse(-1L);
    }

    static long statusField(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException | NumberFormatException gone) {
            // process ended
        }
        return -1;
    }

    static boolean enslavedTo(Path link, String bridge) {
        Path master = link.resolve("master");
        try {
            return Files.exists(master, LinkOption.NOFOLLOW_LINKS)
                    && Files.readSymbolicLink(master).getFileName().toString().equals(bridge);
        } catch (IOException e) {
            return false;
        }
    }

    static String cmdline(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ').strip();
        } catch (IOException e) {
            return "";
        }
    }

    /** One line per kind that differs from {@code before}: items that appeared (+) or went (-), a few of each. */
    public List<String> differencesFrom(Census before) {
        List<String> out = new ArrayList<>();
        for (String k : KINDS) {
            Set<String> added = new TreeSet<>(items.get(k));
            added.removeAll(before.items.get(k));
            Set<String> gone = new TreeSet<>(before.items.get(k));
            gone.removeAll(items.get(k));
            if (!added.isEmpty() || !gone.isEmpty()) {
                out.add(k + ": +" + added.stream().limit(3).toList() + (added.size() > 3 ? " ..." : "")
                        + " -" + gone.stream().limit(3).toList() + (gone.size() > 3 ? " ..." : ""));
            }
        }
        if (fds > before.fds) {
            out.add("daemon fds: " + before.fds + " -> " + fds);
        }
        if (threads > before.threads) {
            Map<String, Long> grew = new TreeMap<>();
            threadNames.forEach((n, c) -> {
                if (c > before.threadNames.getOrDefault(n, 0L)) {
                    grew.put(n, c - before.threadNames.getOrDefault(n, 0L));
                }
            });
            out.add("daemon threads: " + before.threads + " -> " + threads + " (more of " + grew + ")");
        }
        return out;
    }

    /** The before/after/difference table. */
    public String table(Census after) {
        StringBuilder b = new StringBuilder(String.format("%-18s %8s %8s %10s%n", "census", "before", "after",
                "difference"));
        for (String k : KINDS) {
            int x = items.get(k).size();
            int y = after.items.get(k).size();
            // a swap of items at equal count is a difference too
            boolean same = items.get(k).equals(after.items.get(k));
            b.append(String.format("%-18s %8d %8d %10s%n", k, x, y, same ? "0" : (y - x) + (y == x ? " (changed)" : "")));
        }
        b.append(String.format("%-18s %8d %8d %10d%n", "daemon fds", fds, after.fds, after.fds - fds));
        b.append(String.format("%-18s %8d %8d %10d%n", "daemon threads", threads, after.threads, after.threads - threads));
        return b.toString();
    }
}
