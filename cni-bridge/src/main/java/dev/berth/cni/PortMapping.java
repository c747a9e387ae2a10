package dev.berth.cni;

/** A hostPort: the CNI portMappings capability entry. protocol is "tcp", "udp" or "sctp". */
public record PortMapping(int hostPort, int containerPort, String protocol, String hostIP) {}
