package dev.berth.cni.config;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;

/**
 * berth's own pod network: the in-process bridge plugin with host-local style IPAM, built from
 * berth's configuration (cni.bridge, cni.default_subnet). It lives only in memory: berth never
 * writes it into the cluster's CNI config dir, where it would sort before (and win over) the
 * config the cluster's network add-on writes later.
 */
public final class BuiltinNetwork {
    /** The network name pods on the built-in network get (and the IPAM lease directory's name). */
    public static final String NAME = "berth";

    private BuiltinNetwork() {}

    /** The built-in network's conflist. */
    public static NetworkConfigList config(String bridge, String subnet, Path ipamDataDir) {
        ObjectNode root = NetworkConfigList.JSON.createObjectNode();
        root.put("cniVersion", "1.0.0");
        root.put("name", NAME);
        ArrayNode plugins = root.putArray("plugins");
        ObjectNode br = plugins.addObject();
        br.put("type", ConfigLoader.BUILTIN_BRIDGE);
        br.put("bridge", bridge);
        br.put("isGateway", true);
        br.put("ipMasq", true);
        br.put("hairpinMode", true);
        br.putObject("capabilities").put("portMappings", true);
        ObjectNode ipam = br.putObject("ipam");
        ipam.put("type", "host-local");
        ipam.putArray("ranges").addArray().addObject().put("subnet", subnet);
        ipam.put("dataDir", ipamDataDir.toString());
        return NetworkConfigList.parse(root.toString(), false,
                "berth's built-in network (cni.bridge " + bridge + ", cni.default_subnet " + subnet + ")");
    }

    /** Whether a conf dir config is the default conflist earlier berth versions wrote there (10-berth.conflist). */
    public static boolean isLegacyDefaultFile(NetworkConfigList conf) {
        return conf.name().equals(NAME) && conf.plugins().size() == 1
                && conf.plugins().get(0).path("type").asText().equals(ConfigLoader.BUILTIN_BRIDGE);
    }
}
