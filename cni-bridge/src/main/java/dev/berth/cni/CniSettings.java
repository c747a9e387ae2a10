package dev.berth.cni;

import java.nio.file.Path;
import java.util.List;

/**
 * Where CNI things live. {@code stateDir} holds the result cache and the built-in IPAM's default
 * lease directory; it must survive daemon restarts (put it under the state root).
 *
 * @param confDir the cluster's CNI config dir; only read (its first config wins over the built-in network)
 * @param defaultSubnet the subnet of berth's built-in network, used while confDir holds no config
 * @param defaultBridge the built-in network's bridge device
 */
public record CniSettings(Path confDir, List<Path> binDirs, Path stateDir, String defaultSubnet,
        String defaultBridge) {}
