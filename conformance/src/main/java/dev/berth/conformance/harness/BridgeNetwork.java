package dev.berth.conformance.harness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The host state of one built-in berth network that stays while no pod uses it: the bridge device
 * and its base firewall chains (nat {@code BERTH-SNAT-<br>}, the declaration of {@code BERTH-HP-<br>},
 * filter {@code BERTH-FWD-<br>} and the jumps to them). berth's DEL keeps these for the next pod, as
 * the reference bridge plugin keeps its bridge; what pods hold (veths, hostPort DNAT rules in
 * {@code BERTH-HP-<br>}, leases) must still go with them. Censuses leave the base out; a test that
 * made a bridge of its own removes it with {@link #remove} when it is done.
 */
public final class BridgeNetwork {
    private static final Pattern NFT_CHAIN = Pattern.compile("^\\s*chain (\\S+) \\{");

    private BridgeNetwork() {}

    /** Whether an iptables-save line belongs to the bridge's base (not to a pod). */
    public static boolean isBaseRule(String line, String bridge) {
        return names(line, "BERTH-SNAT-" + bridge) || names(line, "BERTH-FWD-" + bridge)
                || line.startsWith(":BERTH-HP-" + bridge + " ") || line.endsWith("-j BERTH-HP-" + bridge);
    }

    /** The lines of {@code nft list ruleset} that are not the bridge's base (rules of pods and of everyone else). */
    public static List<String> nftWithoutBase(String ruleset, String bridge) {
        List<String> out = new ArrayList<>();
        String chain = "";
        for (String line : ruleset.split("\n")) {
            Matcher m = NFT_CHAIN.matcher(line);
            if (m.find()) {
                chain = m.group(1);
                if (chain.equals("BERTH-HP-" + bridge)) {
                    continue; // the chain itself is base; its DNAT rules are the pods'
                }
            } else if (line.strip().equals("}")) {
                chain = "";
            }
            boolean base = chain.equals("BERTH-SNAT-" + bridge) || chain.equals("BERTH-FWD-" + bridge)
                    || line.contains("jump BERTH-SNAT-" + bridge) || line.contains("jump BERTH-FWD-" + bridge)
                    || line.contains("jump BERTH-HP-" + bridge);
            if (!base) {
                out.add(line);
            }
        }
        return out;
    }

    /**
     * Removes the bridge device, the jumps to its chains and the chains (with whatever rules are
     * left in them); repeatable. For a test's own bridge after its daemon stopped.
     */
    public static void remove(String bridge) {
        if (Files.exists(Path.of("/sys/class/net", bridge))) {
            Commands.run("ip", "link", "del", bridge);
        }
        List<String> chains = List.of("BERTH-SNAT-" + bridge, "BERTH-HP-" + bridge, "BERTH-FWD-" + bridge);
        for (String table : List.of("nat", "filter")) {
            String save = Commands.run("iptables-save", "-t", table).output();
            for (String line : save.split("\n")) {
                for (String c : chains) {
                    if (line.startsWith("-A ") && line.endsWith("-j " + c) && !line.startsWith("-A " + c + " ")) {
                        List<String> del = new ArrayList<>(List.of("iptables", "-w", "-t", table, "-D"));
                        del.addAll(List.of(line.substring(3).split(" ")));
                        Commands.run(del);
                    }
                }
            }
            for (String c : chains) {
                if (save.contains(":" + c + " ")) {
                    Commands.run("iptables", "-w", "-t", table, "-F", c);
                    Commands.run("iptables", "-w", "-t", table, "-X", c);
                }
            }
        }
    }

    private static boolean names(String line, String chain) {
        return line.contains(chain + " ") || line.endsWith(chain);
    }
}
