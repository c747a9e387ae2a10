package dev.berth.conformance.sandbox;

import dev.berth.conformance.harness.BerthDaemon;
import dev.berth.conformance.harness.BridgeNetwork;
import dev.berth.conformance.harness.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What pods can leave behind, as text to compare before and after: network devices, firewall rules
 * of berth (or naming a subnet; the daemon's idle network, its bridge and base chains, is not
 * counted, see {@link BridgeNetwork}), mounts inside the daemon's mount namespace, IPAM leases and CNI
 * cache files, the test's cgroups, and processes other than the daemon in its namespace.
 */
final class PodCensus {
    private PodCensus() {}

    static List<String> take(BerthDaemon d, String cgroupTop, String... subnetMarkers) {
        List<String> out = new ArrayList<>();
        // only what can be this daemon's: other work on the machine may add links and rules meanwhile
        String bridge = d.env().get("BERTH_CNI_BRIDGE");
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net"))) {
            List<String> bridges = new ArrayList<>(List.of(subnetMarkers));
            bridges.add(bridge);
            // berth's own bridge stays while its network is idle (as the reference bridge plugin's
            // does; BerthDaemon.close removes it): only the devices pods hold count
            s.map(p -> p.getFileName().toString()).filter(n -> !n.equals(bridge))
                    .filter(n -> bridges.contains(n) || ownVeth(n, bridge) || enslavedTo(n, bridges)).sorted()
                    .forEach(n -> out.add("link " + n));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        for (String line : Commands.run("iptables-save").output().split("\n")) {
            boolean mine = line.contains(bridge);
            for (String m : subnetMarkers) {
                mine |= line.contains(m);
            }
            if (mine && !line.startsWith("#") && !BridgeNetwork.isBaseRule(line.replaceAll(" \\[\\d+:\\d+\\]", ""), bridge)) {
                out.add("rule " + line.replaceAll("\\[\\d+:\\d+\\]", ""));
            }
        }
        d.namespace().mountsUnder(d.base()).stream()
                .filter(m -> !m.startsWith(d.base().resolve("ns").toString()))
                .map(m -> "mount " + m).forEach(out::add);
        for (Path dir : List.of(d.root().resolve("cni"), d.run().resolve("pods"))) {
            if (Files.exists(dir)) {
                try (Stream<Path> w = Files.walk(dir)) {
                    w.filter(Files::isRegularFile)
                            .filter(p -> !p.getFileName().toString().equals("lock")
                                    && !p.getFileName().toString().startsWith("last_reserved_ip"))
                            .map(p -> "file " + p).sorted().forEach(out::add);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        String cg = d.namespace().run("sh", "-c", "find /sys/fs/cgroup -maxdepth 2 -type d -name '" + cgroupTop + "*' 2>/dev/null").output();
        for (String l : cg.split("\n")) {
            if (!l.isBlank()) {
                out.add("cgroup " + l);
            }
        }
        long daemonPid = d.process() != null && d.process().isAlive() ? d.pid() : -1;
        for (long pid : d.namespace().processes()) {
            if (pid != daemonPid && !isDescendantOfNsenter(pid, daemonPid)) {
                out.add("process " + pid + " " + cmdline(pid));
            }
        }
        return out;
    }

    /**
     * The census once the links it counts are among {@code before}'s, or as it is after 5 s: the
     * built-in bridge deletes a stopped pod's detached host veth after StopPodSandbox answered (or the
     * kernel does, with the pod's network namespace, at its removal when a kill came first), so the
     * device may outlive the pod's removal by some milliseconds. Everything else is counted at once.
     */
    static List<String> takeSettled(List<String> before, BerthDaemon d, String cgroupTop, String... subnetMarkers) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        while (true) {
            List<String> now = take(d, cgroupTop, subnetMarkers);
            if (now.stream().filter(l -> l.startsWith("link ")).allMatch(before::contains)
                    || System.nanoTime() > deadline) {
                return now;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return now;
            }
        }
    }

    private static boolean isDescendantOfNsenter(long pid, long daemonPid) {
        // the daemon is started through nsenter: the java process is nsenter's child
        return ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(p -> p.pid() == daemonPid).orElse(false)
                || ProcessHandle.of(daemonPid).flatMap(ProcessHandle::parent).map(p -> p.pid() == pid).orElse(false);
    }

    /** berth's host-side veths ("bv" + hash): enslaved to the daemon's bridge, or to nothing (a leak). */
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

    /** Any device enslaved to one of the given bridges (another plugin's veths). */
    static boolean enslavedTo(String name, List<String> bridges) {
        Path master = Path.of("/sys/class/net", name, "master");
        try {
            return Files.exists(master, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && bridges.contains(Files.readSymbolicLink(master).getFileName().toString());
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

    static boolean privileged() {
        return "root".equals(System.getProperty("user.name")) && Files.isExecutable(Path.of("/usr/sbin/ip"))
                && Files.isExecutable(Path.of("/usr/sbin/iptables")) && Files.isExecutable(Path.of("/usr/bin/nsenter"))
                && busybox() != null;
    }

    static String busybox() {
        for (String b : List.of("/bin/busybox", "/usr/bin/busybox")) {
            if (Files.isExecutable(Path.of(b))) {
                return b;
            }
        }
        return null;
    }
}
