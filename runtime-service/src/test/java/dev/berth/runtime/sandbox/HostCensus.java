package dev.berth.runtime.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

/** What a pod can leave behind on the host, as comparable text: links, firewall rules, mounts, files. */
final class HostCensus {
    private HostCensus() {}

    /** berth's host-side veths ("bv" + hash): enslaved to our bridge, or to nothing (a leak). */
    static boolean ownVeth(String name, String bridge) {
        if (!name.startsWith("bv")) {
            return false;
        }
        Path master = Path.of("/sys/class/net", name, "master");
        try {
            return !Files.exists(master, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    || Files.readSymbolicLink(master).getFileName().toString().equals(bridge);
        } catch (IOException e) {
            return false;
        }
    }

    static List<String> take(Path runDir, Path stateDir, Path cgroupDir, String bridge, String subnetMarker) {
        List<String> out = new ArrayList<>();
        // only what can be ours: other work on the machine may add links and rules meanwhile
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.equals(bridge) || ownVeth(n, bridge)).sorted()
                    .forEach(n -> out.add("link " + n));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        String save = run("iptables-save");
        for (String line : save.split("\n")) {
            if (line.contains(bridge) || line.contains(subnetMarker)) {
                out.add("rule " + line);
            }
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String mp = line.split(" ")[4];
                if (mp.startsWith(runDir.toString()) || mp.startsWith(stateDir.toString())) {
                    out.add("mount " + mp);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        for (Path root : new Path[] {stateDir.resolve("cni"), cgroupDir, runDir.resolve("pods")}) {
            if (Files.exists(root)) {
                try (Stream<Path> w = Files.walk(root)) {
                    TreeSet<String> files = new TreeSet<>();
                    boolean dirsCount = root.equals(cgroupDir);
                    w.filter(p -> !p.equals(root) && (dirsCount || !Files.isDirectory(p)))
                            .filter(p -> !p.getFileName().toString().equals("lock")
                                    && !p.getFileName().toString().startsWith("last_reserved_ip"))
                            .forEach(p -> files.add("file " + p));
                    out.addAll(files);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return out;
    }

    /**
     * The census without the network's own state, which DEL keeps while no pod uses it (as the
     * reference bridge plugin keeps its bridge): the bridge device, its base chains and their jumps.
     * What is left is what pods hold: veths, hostPort DNAT rules, mounts, leases, directories.
     */
    static List<String> withoutNetworkBase(List<String> census, String bridge) {
        return census.stream().filter(l -> !l.equals("link " + bridge) && !(l.startsWith("rule ")
                && isBaseRule(l.substring(5), bridge))).toList();
    }

    /** An iptables-save line of the bridge's base: chains SNAT and FWD, the HP chain's declaration, jumps. */
    static boolean isBaseRule(String line, String bridge) {
        return line.contains("BERTH-SNAT-" + bridge + " ") || line.endsWith("BERTH-SNAT-" + bridge)
                || line.contains("BERTH-FWD-" + bridge + " ") || line.endsWith("BERTH-FWD-" + bridge)
                || line.startsWith(":BERTH-HP-" + bridge + " ") || line.endsWith("-j BERTH-HP-" + bridge);
    }

    static String run(String... argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor();
            return out;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    static boolean haveTools() {
        return "root".equals(System.getProperty("user.name")) && Files.isExecutable(Path.of("/usr/sbin/ip"))
                && Files.isExecutable(Path.of("/usr/sbin/iptables")) && Files.isExecutable(Path.of("/usr/bin/nsenter"))
                && (Files.isExecutable(Path.of("/bin/busybox")) || Files.isExecutable(Path.of("/usr/bin/busybox")));
    }
}
