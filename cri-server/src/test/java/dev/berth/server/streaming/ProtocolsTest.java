package dev.berth.server.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.server.streaming.remotecommand.ExitStatus;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProtocolsTest {
    @Test
    void theClientsFirstSupportedChoiceWinsAcrossCommaSeparatedValues() {
        // client-go's SPDY executor offers v5 first; kubelet's server (and berth's) speaks v4 at best over SPDY
        assertEquals(Optional.of("v4.channel.k8s.io"), Protocols.negotiate(
                List.of("v5.channel.k8s.io, v4.channel.k8s.io", "v3.channel.k8s.io"), Protocols.SPDY_REMOTE_COMMAND));
        assertEquals(Optional.of("v2.channel.k8s.io"), Protocols.negotiate(
                List.of("v2.channel.k8s.io,v4.channel.k8s.io"), Protocols.SPDY_REMOTE_COMMAND));
        assertEquals(Optional.empty(), Protocols.negotiate(List.of("v9.channel.k8s.io"), Protocols.SPDY_REMOTE_COMMAND));
        assertEquals(Optional.of("v5.channel.k8s.io"),
                Protocols.negotiate(List.of("v5.channel.k8s.io"), Protocols.WEBSOCKET_REMOTE_COMMAND));
        assertEquals(Optional.of(""), Protocols.negotiate(List.of(), Protocols.WEBSOCKET_REMOTE_COMMAND),
                "no subprotocol: kubelet's channel.k8s.io behaviour");
        assertEquals(Optional.of("SPDY/3.1+portforward.k8s.io"),
                Protocols.negotiate(List.of("SPDY/3.1+portforward.k8s.io"), Protocols.WEBSOCKET_PORT_FORWARD));
        assertEquals(Optional.of("portforward.k8s.io"),
                Protocols.negotiate(List.of("portforward.k8s.io"), Protocols.SPDY_PORT_FORWARD));
    }

    @Test
    void statusFormatAndResizeFollowTheVersion() {
        assertTrue(Protocols.statusAsJson("v4.channel.k8s.io"));
        assertTrue(Protocols.statusAsJson("v5.channel.k8s.io"));
        assertFalse(Protocols.statusAsJson("v3.channel.k8s.io"));
        assertTrue(Protocols.spdySupportsResize("v3.channel.k8s.io"));
        assertFalse(Protocols.spdySupportsResize("v2.channel.k8s.io"));
    }

    @Test
    void exitStatusIsAKubernetesStatusObject() {
        assertEquals("{\"metadata\":{},\"status\":\"Success\"}", new String(ExitStatus.ok().json()));
        assertEquals(0, ExitStatus.ok().text().length);
        String nonZero = new String(ExitStatus.nonZeroExit(List.of("sh", "-c", "exit 3"), 3).json());
        assertTrue(nonZero.startsWith("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with "
                + "non-zero exit code: "), nonZero);
        assertTrue(nonZero.endsWith("\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
                + "\"message\":\"3\"}]}}"), nonZero);
        String internal = new String(ExitStatus.internalError("boom").json());
        assertTrue(internal.contains("\"reason\":\"InternalError\"") && internal.contains("\"code\":500"), internal);
    }
}
