/**
 * Pod networking through CNI: {@link dev.berth.cni.CniNetworks} loads the first network conflist,
 * runs its plugins (external executables per the CNI spec, or berth's built-in bridge in-process)
 * and caches each ADD result for DEL and CHECK.
 */
package dev.berth.cni;
