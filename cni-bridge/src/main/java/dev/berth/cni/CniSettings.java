package dev.berth.cni;

import java.nio.file.Path;
import java.util.List;

/**
 * Where CNI things live. {@code stateDir} holds the result cache and the built-in IPAM's default
 * lease directory; it must survive daemon restarts (put it under the state root).
 *
 * @param defaultSubnet the built-in bridge's subnet in the conflist berth writes when none exists
 * @param defaultBridge the built-in bridge's device name in that conflist
 */
public record CniSettings(Path confDir, List<Path> binDirs, Path stateDir, String defaultSubnet,
        String defaultBridge) {}
