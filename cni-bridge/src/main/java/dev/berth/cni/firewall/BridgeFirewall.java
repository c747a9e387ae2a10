package dev.berth.cni.firewall;

import dev.berth.cni.PortMapping;
import dev.berth.core.error.BerthException;
import dev.berth.cni.ipam.Cidr;
import dev.berth.linux.host.HostCommands;
import dev.berth.linux.net.NetCommand;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * iptables rules of one berth bridge, kept in chains named after it so they can be found and removed
 * as a whole:
 * <ul>
 *   <li>nat {@code BERTH-SNAT-<br>} (from POSTROUTING): masquerade pod traffic leaving the subnet,
 *       hairpin (a pod reaching a hostPort that leads back into the subnet) and 127.0.0.1-sourced
 *       hostPort traffic (needs route_localnet on the bridge);</li>
 *   <li>nat {@code BERTH-HP-<br>} (from PREROUTING and OUTPUT, local destinations only): one DNAT
 *       per hostPort, commented {@code berth:<containerId>};</li>
 *   <li>filter {@code BERTH-FWD-<br>} (first in FORWARD): nothing is forwarded between the bridge and
 *       any other interface, so pod traffic never leaves this machine.</li>
 * </ul>
 * Changes go through one {@code iptables-restore --noflush} each (a single fork). IPv4 only.
 */
public final class BridgeFirewall {
    private static final Pattern RULE_WORD = Pattern.compile("[A-Za-z0-9_.-]{1,128}");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private final String bridge;
    private final List<Cidr> subnets;
    private final HostCommands commands;

    public BridgeFirewall(String bridge, List<Cidr> subnets, HostCommands commands) {
        this.bridge = bridge;
        this.commands = commands;
        this.subnets = subnets.stream().filter(Cidr::isIpv4).toList();
    }

    public String snatChain() {
        return "BERTH-SNAT-" + bridge;
    }

    public String hostPortChain() {
        return "BERTH-HP-" + bridge;
    }

    public String forwardChain() {
        return "BERTH-FWD-" + bridge;
    }

    /** Creates the chains and jumps that are missing; rewrites the SNAT and FORWARD chains. */
    public void ensureBase(boolean masquerade) {
        String save = saveNatAndFilter(true);
        StringBuilder nat = new StringBuilder("*nat\n");
        nat.append(':').append(snatChain()).append(" - [0:0]\n");
        if (!save.contains(":" + hostPortChain() + " ")) {
            nat.append(':').append(hostPortChain()).append(" - [0:0]\n");
        }
        for (Cidr s : subnets) {
            nat.append("-A ").append(snatChain()).append(" -s ").append(s).append(" -d ").append(s)
                    .append(" -m conntrack --ctstate DNAT -j MASQUERADE\n");
            if (masquerade) {
                nat.append("-A ").append(snatChain()).append(" -s ").append(s).append(" ! -d ").append(s)
                        .append(" -j MASQUERADE\n");
            }
        }
        nat.append("-A ").append(snatChain()).append(" -s 127.0.0.0/8 -o ").append(bridge)
                .append(" -j MASQUERADE\n");
        String jumpPost = "-A POSTROUTING -j " + snatChain();
        String jumpPre = "-A PREROUTING -m addrtype --dst-type LOCAL -j " + hostPortChain();
        String jumpOut = "-A OUTPUT -m addrtype --dst-type LOCAL -j " + hostPortChain();
        for (String j : List.of(jumpPost, jumpPre, jumpOut)) {
            if (!save.contains(j + "\n")) {
                nat.append(j).append('\n');
            }
        }
        nat.append("COMMIT\n");
        StringBuilder filter = new StringBuilder("*filter\n");
        filter.append(':').append(forwardChain()).append(" - [0:0]\n");
        filter.append("-A ").append(forwardChain()).append(" -i ").append(bridge).append(" ! -o ").append(bridge)
                .append(" -j DROP\n");
        filter.append("-A ").append(forwardChain()).append(" -o ").append(bridge).append(" ! -i ").append(bridge)
                .append(" -j DROP\n");
        if (!save.contains("-A FORWARD -j " + forwardChain() + "\n")) {
            filter.append("-I FORWARD 1 -j ").append(forwardChain()).append('\n');
        }
        filter.append("COMMIT\n");
        restore(nat.toString() + filter);
    }

    /**
     * Adds one DNAT per mapping towards {@code podIp}. The mappings were checked when made
     * ({@link PortMapping}: ports, protocol, an IP literal), the rest is checked here: nothing a
     * request carries reaches the iptables-restore input unchecked. A mapping bound to an IPv6
     * host address is left out (these rules are IPv4, as the portmap plugin does for a v4 pod).
     */
    public void addHostPorts(String containerId, String podIp, List<PortMapping> mappings) {
        if (mappings.isEmpty()) {
            return;
        }
        if (!RULE_WORD.matcher(containerId).matches()) {
            throw BerthException.invalid("container id \"%s\" cannot label a firewall rule (letters, digits, '-', "
                    + "'_', '.'; at most 128)", containerId);
        }
        if (!IPV4.matcher(podIp).matches()) {
            throw BerthException.invalid("pod IP \"%s\" is not an IPv4 address", podIp);
        }
        StringBuilder nat = new StringBuilder("*nat\n");
        for (PortMapping m : mappings) {
            if (m.ipv6HostIp()) {
                continue;
            }
            nat.append("-A ").append(hostPortChain());
            if (!m.hostIP().isEmpty() && !m.hostIP().equals("0.0.0.0")) {
                nat.append(" -d ").append(m.hostIP());
            }
            nat.append(" -p ").append(m.protocol()).append(" -m ").append(m.protocol()).append(" --dport ")
                    .append(m.hostPort())
                    .append(" -m comment --comment berth:").append(containerId)
                    .append(" -j DNAT --to-destination ").append(podIp).append(':').append(m.containerPort())
                    .append('\n');
        }
        nat.append("COMMIT\n");
        restore(nat.toString());
    }

    /** Removes the container's DNAT rules; repeatable. */
    public void removeHostPorts(String containerId) {
        NetCommand.Result r = commands.run(List.of("iptables", "-w", "-t", "nat", "-S", hostPortChain()));
        if (!r.ok()) {
            return; // no chain, no rules
        }
        List<String> deletes = new ArrayList<>();
        // iptables -S quotes the comment ("berth:<id>") in some versions (1.8.9 nft) and not in others
        String label = "berth:" + containerId;
        for (String line : r.stdout().split("\n")) {
            if (line.startsWith("-A ") && (line.contains(label + " ") || line.contains(label + "\"")
                    || line.endsWith(label))) {
                deletes.add("-D" + line.substring(2));
            }
        }
        if (!deletes.isEmpty()) {
            restore("*nat\n" + String.join("\n", deletes) + "\nCOMMIT\n");
        }
    }

    /** Removes every rule and chain of this bridge; repeatable. */
    public void removeAll() {
        String save = saveNatAndFilter(false);
        StringBuilder nat = new StringBuilder();
        StringBuilder filter = new StringBuilder();
        for (String line : save.split("\n")) {
            if (line.startsWith("-A ") && (line.endsWith("-j " + snatChain()) || line.endsWith("-j " + hostPortChain()))) {
                nat.append("-D").append(line.substring(2)).append('\n');
            }
            if (line.startsWith("-A FORWARD ") && line.endsWith("-j " + forwardChain())) {
                filter.append("-D").append(line.substring(2)).append('\n');
            }
        }
        for (String c : List.of(snatChain(), hostPortChain())) {
            if (save.contains(":" + c + " ")) {
                nat.append("-F ").append(c).append('\n').append("-X ").append(c).append('\n');
            }
        }
        if (save.contains(":" + forwardChain() + " ")) {
            filter.append("-F ").append(forwardChain()).append('\n').append("-X ").append(forwardChain()).append('\n');
        }
        StringBuilder all = new StringBuilder();
        if (!nat.isEmpty()) {
            all.append("*nat\n").append(nat).append("COMMIT\n");
        }
        if (!filter.isEmpty()) {
            all.append("*filter\n").append(filter).append("COMMIT\n");
        }
        if (!all.isEmpty()) {
            restore(all.toString());
        }
    }

    /**
     * iptables-save of the nat and the filter table, the two run at once: each is a process start,
     * which dominates the first pod's ADD and the last pod's DEL on a busy node.
     */
    private String saveNatAndFilter(boolean check) {
        java.util.concurrent.CompletableFuture<String> filter = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> save("filter", check), SAVES);
        String nat = save("nat", check);
        try {
            return nat + filter.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    private String save(String table, boolean check) {
        List<String> cmd = List.of("iptables-save", "-t", table);
        return check ? commands.check(cmd, null).stdout() : commands.run(cmd).stdout();
    }

    private static final java.util.concurrent.Executor SAVES =
            java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    private void restore(String input) {
        // Another program's ruleset transaction at the same moment can make nft-based iptables fail
        // with EBUSY/EAGAIN: retry a few times before reporting.
        for (int attempt = 1; ; attempt++) {
            NetCommand.Result r = commands.run(List.of("iptables-restore", "-w", "--noflush"), null,
                    input.getBytes(java.nio.charset.StandardCharsets.UTF_8), NetCommand.DEFAULT_TIMEOUT);
            if (r.ok() || attempt == 3) {
                r.orThrow();
                return;
            }
            try {
                Thread.sleep(20L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                r.orThrow();
            }
        }
    }
}
