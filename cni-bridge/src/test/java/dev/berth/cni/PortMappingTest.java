package dev.berth.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What of a port mapping may reach iptables-restore input and plugin configs. */
class PortMappingTest {
    private static BerthException refused(int host, int container, String proto, String ip) {
        BerthException e = assertThrows(BerthException.class, () -> new PortMapping(host, container, proto, ip),
                host + " " + container + " " + proto + " " + ip);
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), e.getMessage());
        return e;
    }

    @Test
    void hostIpIsAnAddressLiteralOrNothing() {
        assertEquals("", new PortMapping(80, 8080, "tcp", "").hostIP());
        assertEquals("", new PortMapping(80, 8080, "tcp", null).hostIP());
        assertEquals("127.0.0.1", new PortMapping(80, 8080, "tcp", "127.0.0.1").hostIP());
        assertEquals("0.0.0.0", new PortMapping(80, 8080, "tcp", "0.0.0.0").hostIP());
        assertEquals("fd00:0:0:0:0:0:0:1", new PortMapping(80, 8080, "tcp", "fd00::1").hostIP());
        assertTrue(new PortMapping(80, 8080, "tcp", "::").ipv6HostIp());
        BerthException injected = refused(80, 8080, "tcp", "127.0.0.1\n-A INPUT -j ACCEPT");
        assertTrue(injected.getMessage().contains("\\x0a"), "the newline is shown escaped: " + injected.getMessage());
        for (String bad : List.of("127.0.0.1 ", " 127.0.0.1", "127.0.0.1 -j ACCEPT", "localhost", "10.1", "127.1",
                "256.1.1.1", "1.2.3.4/24", "fe80::1%eth0", "1.2.3.4;", "::g", "-d 1.2.3.4", "1.2.3.4\r")) {
            refused(80, 8080, "tcp", bad);
        }
    }

    @Test
    void portsAndProtocolAreChecked() {
        assertEquals("udp", new PortMapping(53, 53, "UDP", "").protocol());
        assertEquals("tcp", new PortMapping(53, 53, "", "").protocol());
        assertEquals("sctp", new PortMapping(53, 53, "sctp", "").protocol());
        refused(0, 80, "tcp", "");
        refused(65536, 80, "tcp", "");
        refused(80, 0, "tcp", "");
        refused(80, -1, "tcp", "");
        refused(80, 80, "unrecognized", "");
        refused(80, 80, "tcp -j ACCEPT", "");
        refused(80, 80, "icmp", "");
    }

    @Test
    void aMappingReadFromJsonIsCheckedToo() {
        ObjectMapper json = new ObjectMapper();
        PortMapping ok = json.convertValue(json.createObjectNode().put("hostPort", 80).put("containerPort", 81)
                .put("protocol", "tcp").put("hostIP", "10.0.0.1"), PortMapping.class);
        assertEquals(new PortMapping(80, 81, "tcp", "10.0.0.1"), ok);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> json.convertValue(
                json.createObjectNode().put("hostPort", 80).put("containerPort", 81).put("protocol", "tcp")
                        .put("hostIP", "10.0.0.1\nCOMMIT"), PortMapping.class));
        assertTrue(String.valueOf(e.getMessage()).contains("host_ip"), e.getMessage());
    }

    @Test
    void podIdentityCannotRewriteCniArgs() {
        PodNetworkRequest fine = new PodNetworkRequest("abc", null, null, "web-1", "default", "1234-5678", null);
        fine.checkCniArgs();
        assertEquals("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=abc;"
                + "K8S_POD_UID=1234-5678", fine.cniArgs());
        for (String[] bad : new String[][] {{"a;IP=10.0.0.9", "ns", "u"}, {"a", "ns=x", "u"}, {"a", "ns", "u\n"},
                {"a b", "ns", "u"}}) {
            BerthException e = assertThrows(BerthException.class,
                    () -> new PodNetworkRequest("abc", null, null, bad[0], bad[1], bad[2], null).checkCniArgs());
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        }
    }
}
