package dev.berth.cni.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NetworkConfigListTest {
    @TempDir
    Path dir;

    @Test
    void parsesAConflistAndBuildsPluginConfigs() {
        NetworkConfigList c = NetworkConfigList.parse("""
                {"cniVersion":"1.0.0","name":"n1","plugins":[
                  {"type":"bridge","bridge":"b0"},{"type":"portmap","capabilities":{"portMappings":true}}]}
                """, false, "x");
        assertEquals("n1", c.name());
        assertEquals(2, c.plugins().size());
        assertTrue(c.hasCapability(1, "portMappings"));
        assertFalse(c.hasCapability(0, "portMappings"));
        assertFalse(c.supportsStatus());
        ObjectNode prev = NetworkConfigList.JSON.createObjectNode().put("cniVersion", "1.0.0");
        ObjectNode rc = NetworkConfigList.JSON.createObjectNode();
        rc.putArray("portMappings").addObject().put("hostPort", 80);
        ObjectNode p = c.pluginConfig(1, prev, rc);
        assertEquals("n1", p.get("name").asText());
        assertEquals("1.0.0", p.get("cniVersion").asText());
        assertEquals(prev, p.get("prevResult"));
        assertEquals(80, p.get("runtimeConfig").get("portMappings").get(0).get("hostPort").asInt());
        assertFalse(c.pluginConfig(0, null, null).has("prevResult"));
        assertTrue(NetworkConfigList.parse("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}",
                false, "x").supportsStatus());
    }

    @Test
    void rejectsBrokenConfigsWithAReason() {
        for (String bad : List.of("not json", "[]", "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"a\"}]}",
                "{\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}", "{\"name\":\"n\",\"cniVersion\":\"1.0.0\"}",
                "{\"name\":\"n\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"notype\":1}]}",
                "{\"name\":\"../x\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"a\"}]}")) {
            BerthException e = assertThrows(BerthException.class, () -> NetworkConfigList.parse(bad, false, "f"), bad);
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
            assertTrue(e.getMessage().contains("f"), e.getMessage());
        }
    }

    @Test
    void loaderTakesTheFirstFileAndWritesTheDefaultOnlyWhenNoneExists() throws Exception {
        ConfigLoader loader = new ConfigLoader(dir);
        BerthException none = assertThrows(BerthException.class, loader::load);
        assertEquals(ErrorKind.FAILED_PRECONDITION, none.kind());
        Path written = loader.writeDefaultIfMissing("berth7", "10.66.0.0/16", dir.resolve("ipam")).orElseThrow();
        NetworkConfigList def = loader.load();
        assertEquals("berth", def.name());
        assertEquals(ConfigLoader.BUILTIN_BRIDGE, def.plugins().get(0).get("type").asText());
        assertEquals("berth7", def.plugins().get(0).get("bridge").asText());
        assertEquals("10.66.0.0/16",
                def.plugins().get(0).get("ipam").get("ranges").get(0).get(0).get("subnet").asText());
        Files.writeString(dir.resolve("05-other.conflist"),
                "{\"cniVersion\":\"0.4.0\",\"name\":\"other\",\"plugins\":[{\"type\":\"bridge\"}]}");
        assertEquals("other", loader.load().name());
        assertTrue(loader.writeDefaultIfMissing("b", "10.66.0.0/16", dir).isEmpty());
        Files.delete(dir.resolve("05-other.conflist"));
        Files.writeString(dir.resolve("01-single.conf"), "{\"cniVersion\":\"0.3.1\",\"name\":\"single\",\"type\":\"bridge\"}");
        assertEquals("single", loader.load().name());
        assertEquals(1, loader.load().plugins().size());
        assertTrue(Files.exists(written));
    }
}
