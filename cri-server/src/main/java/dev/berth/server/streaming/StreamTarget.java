package dev.berth.server.streaming;

import java.util.List;

/**
 * What a streaming URL's token stands for: the validated Exec, Attach or PortForward request that
 * handed it out. The path segment of the URL ({@link #kind()}) must match when the token is used.
 */
public sealed interface StreamTarget {
    /** The URL path segment: exec, attach or portforward. */
    String kind();

    /** Exec: {@code cmd} in a running container. */
    record Exec(String containerId, List<String> cmd, boolean tty, boolean stdin, boolean stdout, boolean stderr)
            implements StreamTarget {
        public Exec {
            cmd = List.copyOf(cmd);
        }

        @Override
        public String kind() {
            return "exec";
        }
    }

    /** Attach: the running container's own stdio. */
    record Attach(String containerId, boolean tty, boolean stdin, boolean stdout, boolean stderr)
            implements StreamTarget {
        @Override
        public String kind() {
            return "attach";
        }
    }

    /** PortForward: TCP ports inside a pod's network namespace (WebSocket clients get exactly these). */
    record PortForward(String podSandboxId, List<Integer> ports) implements StreamTarget {
        public PortForward {
            ports = List.copyOf(ports);
        }

        @Override
        public String kind() {
            return "portforward";
        }
    }
}
