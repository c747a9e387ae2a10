/**
 * The seam between berth's orchestration and the kernel: one interface per concern (mounts,
 * namespaces, processes, cgroup files, procfs, network links, node programs) and {@link
 * dev.berth.linux.host.LinuxHost}, the aggregate the daemon wires once. The FFM-backed
 * implementation is in {@code host.system}; {@code dev.berth.linux.testing} has a recording fake
 * so sandbox and container orchestration, rollback and recovery are unit-tested without root.
 */
package dev.berth.linux.host;
