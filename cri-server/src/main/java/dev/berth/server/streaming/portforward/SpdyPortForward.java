package dev.berth.server.streaming.portforward;

import dev.berth.runtime.stream.ContainerStreams;
import dev.berth.server.streaming.transport.InboundPipe;
import dev.berth.server.streaming.transport.SpdySession;
import dev.berth.server.streaming.transport.SpdyStream;
import dev.berth.server.streaming.transport.StreamConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Port forwarding over SPDY ({@code portforward.k8s.io}): for every forwarded connection the
 * client opens a pair of streams, {@code streamtype} error and data, with the same {@code port}
 * and {@code requestid} headers (without requestid, pairs are matched by stream id as kubelet
 * does). Many pairs, ports and connections may be open at once on one SPDY connection.
 */
public final class SpdyPortForward implements SpdySession.Listener {
    private final Supplier<ContainerStreams> runtime;
    private final String podSandboxId;
    private final StreamConnection connection;
    private final Duration creationTimeout;
    /** Event loop only. */
    private final Map<String, Pair> pending = new HashMap<>();
    private final List<ForwardedPort> active = new ArrayList<>();

    private static final class Pair {
        SpdyStream data;
        SpdyStream error;
        InboundPipe dataIn;
    }

    public SpdyPortForward(Supplier<ContainerStreams> runtime, String podSandboxId, StreamConnection connection,
            Duration creationTimeout) {
        this.runtime = runtime;
        this.podSandboxId = podSandboxId;
        this.connection = connection;
        this.creationTimeout = creationTimeout;
    }

    @Override
    public void streamOpened(SpdyStream s) {
        String portHeader = s.header("port");
        if (portHeader == null || portHeader.isEmpty()) {
            throw new IllegalArgumentException("\"port\" header is required");
        }
        int port;
        try {
            port = Integer.parseInt(portHeader);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("unable to parse \"" + portHeader + "\" as a port");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port \"" + portHeader + "\" must be 1-65535");
        }
        String type = s.header("streamtype");
        if (!"data".equals(type) && !"error".equals(type)) {
            throw new IllegalArgumentException("invalid stream type \"" + type + "\"");
        }
        String requestId = s.header("requestid");
        if (requestId == null || requestId.isEmpty()) {
            requestId = Integer.toString(type.equals("error") ? s.id() : s.id() - 2);
        }
        Pair p = pending.get(requestId);
        boolean created = p == null;
        if (created) {
            p = new Pair();
            pending.put(requestId, p);
            String id = requestId;
            connection.channel().eventLoop().schedule(() -> expire(id), creationTimeout.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
        if (type.equals("data")) {
            if (p.data != null) {
                reportDuplicate(p, requestId, "data");
                return;
            }
            p.data = s;
            p.dataIn = new InboundPipe(connection);
            s.setSink(p.dataIn);
        } else {
            if (p.error != null) {
                reportDuplicate(p, requestId, "error");
                return;
            }
            p.error = s;
        }
        if (p.data != null && p.error != null) {
            pending.remove(requestId);
            ForwardedPort fp = new ForwardedPort(runtime, podSandboxId, port, p.dataIn, p.data, p.error, true);
            p.data.onReset(fp::cancel);
            active.add(fp);
            fp.start();
        }
    }

    private void reportDuplicate(Pair p, String requestId, String type) {
        if (p.error != null) {
            p.error.write(("error processing stream for request " + requestId + ": " + type
                    + " stream already assigned").getBytes(StandardCharsets.UTF_8));
        }
    }

    private void expire(String requestId) {
        Pair p = pending.remove(requestId);
        if (p != null && p.error != null) {
            p.error.write(("timed out waiting for streams of request " + requestId).getBytes(StandardCharsets.UTF_8));
            p.error.finish();
        }
    }

    @Override
    public void connectionClosed() {
        active.forEach(ForwardedPort::cancel);
        active.clear();
        pending.clear();
    }
}
