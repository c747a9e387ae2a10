package dev.berth.server.streaming;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The subprotocol names kubelet's streaming server and its clients (client-go, kubectl, crictl)
 * speak, and how one is picked: the client's first choice the server also speaks (as
 * k8s.io/apimachinery httpstream.Handshake and golang.org/x/net/websocket do).
 */
public final class Protocols {
    /** SPDY/3.1 upgrade, remotecommand, in kubelet's order of preference. */
    public static final String V4 = "v4.channel.k8s.io";
    public static final String V3 = "v3.channel.k8s.io";
    public static final String V2 = "v2.channel.k8s.io";
    public static final String V1 = "channel.k8s.io";
    public static final List<String> SPDY_REMOTE_COMMAND = List.of(V4, V3, V2, V1);

    /** WebSocket remotecommand: channel byte prefix; base64 variants in text frames. */
    public static final String V5 = "v5.channel.k8s.io";
    public static final String V4_BASE64 = "v4.base64.channel.k8s.io";
    public static final String V1_BASE64 = "base64.channel.k8s.io";
    /** "" is a client that asked for no subprotocol: kubelet treats it as channel.k8s.io. */
    public static final List<String> WEBSOCKET_REMOTE_COMMAND = List.of(V5, V4, V4_BASE64, V1, V1_BASE64, "");

    /** Port forwarding: SPDY stream pairs, or WebSocket channel pairs, or SPDY tunnelled in WebSocket. */
    public static final String PORT_FORWARD = "portforward.k8s.io";
    public static final String SPDY_OVER_WEBSOCKET_PORT_FORWARD = "SPDY/3.1+portforward.k8s.io";
    public static final List<String> SPDY_PORT_FORWARD = List.of(PORT_FORWARD);
    public static final List<String> WEBSOCKET_PORT_FORWARD = List.of(SPDY_OVER_WEBSOCKET_PORT_FORWARD, V4, V4_BASE64, "");

    public static final String HEADER_PROTOCOL_VERSION = "X-Stream-Protocol-Version";
    public static final String HEADER_ACCEPTED_VERSIONS = "X-Accepted-Stream-Protocol-Versions";
    public static final String SPDY_31 = "SPDY/3.1";

    private Protocols() {}

    /**
     * The protocol to speak: the first of the client's (comma-separated, possibly in several header
     * values) that the server supports; empty when none is. No values at all is the empty name "".
     */
    public static Optional<String> negotiate(List<String> clientHeaderValues, List<String> server) {
        List<String> client = split(clientHeaderValues);
        if (client.isEmpty()) {
            client = List.of("");
        }
        for (String c : client) {
            if (server.contains(c)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** Header values split at commas and trimmed, empty names dropped. */
    public static List<String> split(List<String> headerValues) {
        List<String> out = new ArrayList<>();
        for (String v : headerValues) {
            for (String p : v.split(",")) {
                if (!p.isBlank()) {
                    out.add(p.trim());
                }
            }
        }
        return out;
    }

    /** Whether the error stream carries a Status JSON (v4 and later) or only a failure's text. */
    public static boolean statusAsJson(String protocol) {
        return protocol.equals(V4) || protocol.equals(V4_BASE64) || protocol.equals(V5);
    }

    /** SPDY: v3 and later add the resize stream. */
    public static boolean spdySupportsResize(String protocol) {
        return protocol.equals(V4) || protocol.equals(V3);
    }
}
