package dev.berth.runtime.stream;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.List;

/**
 * What the streaming server (cri-server, {@code server.streaming}) needs from the runtime: exec,
 * attach and port-forward. Validation of the CRI request itself (container running, pod ready, a
 * command given) happens when the Exec/Attach/PortForward RPC hands out its URL; these calls check
 * again, because the container may have ended since.
 */
public interface ContainerStreams {
    /**
     * Runs {@code cmd} inside the running container as the container's own process runs (namespaces,
     * cgroup, user, env, cwd, capabilities, seccomp, no_new_privs), with or without a terminal.
     */
    StdioSession exec(String containerId, List<String> cmd, boolean tty, boolean stdin, boolean stdout,
            boolean stderr);

    /** Connects to the running container's own stdio (and terminal, if it has one). */
    StdioSession attach(String containerId, boolean stdin, boolean stdout, boolean stderr);

    /**
     * A TCP connection to {@code localhost:port} inside the pod's network namespace (the host's, for a
     * host-network pod). A refused connection is an IOException whose message says so.
     */
    SocketChannel portForward(String podSandboxId, int port) throws IOException;
}
