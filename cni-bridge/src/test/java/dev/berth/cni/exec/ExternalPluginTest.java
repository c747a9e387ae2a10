package dev.berth.cni.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.cni.result.CniResults;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A plugin executable speaks CNI through stdin, the CNI_* environment, stdout and its exit code. */
class ExternalPluginTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    Path script(String body) throws Exception {
        Path p = dir.resolve("fake");
        Files.writeString(p, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    @Test
    void passesEnvironmentAndStdinAndParsesTheResult() throws Exception {
        Path p = script("""
                conf=$(cat)
                name=$(echo "$conf" | sed 's/.*"name":"\\([^"]*\\)".*/\\1/')
                printf '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"%s"}],' "$CNI_NETNS"
                printf '"ips":[{"address":"10.1.2.3/24","interface":0}],"dns":{"domain":"%s|%s|%s|%s"}}' \
                  "$CNI_COMMAND" "$CNI_IFNAME" "$name" "$CNI_ARGS"
                """);
        ObjectNode conf = JSON.createObjectNode().put("cniVersion", "1.0.0").put("name", "netx").put("type", "fake");
        JsonNode r = new ExternalPlugin("fake", p, dev.berth.linux.host.LinuxHost.system().commands()).invoke(conf,
                new PluginInvocation("ADD", "cid", "/run/x/ns", "eth0", "K8S_POD_NAME=a", dir.toString()));
        assertEquals("ADD|eth0|netx|K8S_POD_NAME=a", r.path("dns").path("domain").asText());
        assertEquals(List.of("10.1.2.3"), CniResults.podIps(r));
        assertEquals("/run/x/ns", r.path("interfaces").get(0).path("sandbox").asText());
    }

    @Test
    void errorResultBecomesAClearException() throws Exception {
        Path p = script("cat >/dev/null; echo '{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"bad things\","
                + "\"details\":\"more\"}'; exit 1\n");
        CniPluginException e = assertThrows(CniPluginException.class, () -> new ExternalPlugin("fake", p, dev.berth.linux.host.LinuxHost.system().commands()).invoke(
                JSON.createObjectNode(), new PluginInvocation("ADD", "c", "", "eth0", "", "")));
        assertEquals(7, e.code());
        assertTrue(e.getMessage().contains("bad things") && e.getMessage().contains("fake ADD"), e.getMessage());
    }

    @Test
    void emptyOutputOfDelIsFine() throws Exception {
        Path p = script("cat >/dev/null; exit 0\n");
        assertNull(new ExternalPlugin("fake", p, dev.berth.linux.host.LinuxHost.system().commands()).invoke(JSON.createObjectNode(),
                new PluginInvocation("DEL", "c", "", "eth0", "", "")));
    }

    @Test
    void podIpsSkipHostInterfacesAndLoopback() throws Exception {
        JsonNode r = JSON.readTree("""
                {"interfaces":[{"name":"br0"},{"name":"eth0","sandbox":"/ns"}],
                 "ips":[{"address":"10.0.0.1/24","interface":0},{"address":"10.0.0.5/24","interface":1},
                        {"address":"fd00::5/64","interface":1},{"address":"127.0.0.1/8"}]}
                """);
        assertEquals(List.of("10.0.0.5", "fd00::5"), CniResults.podIps(r));
    }
}
