/**
 * Pod networking through CNI.
 *
 * <p>Packages (each may use those listed after it, never those before):
 * <ul>
 *   <li>{@code dev.berth.cni}: {@link dev.berth.cni.CniNetworks}, the façade: loads the first
 *       network config, runs its plugin chain for ADD / DEL / CHECK / STATUS, caches each ADD
 *       result for DEL, and answers {@link dev.berth.cni.NetworkReadiness} (CRI Status).</li>
 *   <li>{@code cni.bridge}: berth's own bridge plugin ({@code "type": "berth-bridge"}), run inside
 *       the daemon: bridge, veth pair, addresses and routes over rtnetlink, hostPorts; the bridge
 *       and its base chains stay while the network is idle (removed only on request).</li>
 *   <li>{@code cni.firewall}: the bridge's iptables chains (masquerade, hostPort DNAT, forward drop).</li>
 *   <li>{@code cni.exec}: the plugin contract and external plugin executables run per the spec.</li>
 *   <li>{@code cni.ipam}: host-local style leases (one file per address under a lock), allocator.</li>
 *   <li>{@code cni.config}: conflist parsing, the config dir loader, berth's default conflist.</li>
 *   <li>{@code cni.result}: reading pod addresses out of CNI results.</li>
 * </ul>
 *
 * <p>Kernel access goes through {@code dev.berth.linux} only ({@code linux.net.Netlink},
 * {@code linux.net.NetCommand} for ip / iptables / plugins, {@code linux.ns} for namespaces).
 * On disk under the state dir: {@code results/<containerId>-<ifName>.json} (the config ADD ran and
 * its result) and {@code networks/<network>/<ip>} (leases; the default IPAM data dir).
 */
package dev.berth.cni;
