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
    void loaderTakesTheFirstFileAndTheBuiltinNetworkWhileThereIsNone() throws Exception {
        Path conf = dir.resolve("net.d");
        ConfigLoader loader = new ConfigLoader(conf, BuiltinNetwork.config("berth7", "10.66.0.0/16",
                dir.resolve("ipam")));
        NetworkConfigList def = loader.load();
        assertEquals("berth", def.name());
        assertEquals(ConfigLoader.BUILTIN_BRIDGE, def.plugins().get(0).get("type").asText());
        assertEquals("berth7", def.plugins().get(0).get("bridge").asText());
        assertEquals("10.66.0.0/16",
                def.plugins().get(0).get("ipam").get("ranges").get(0).get(0).get("subnet").asText());
        assertTrue(def.source().contains("built-in"), def.source());
        assertFalse(Files.exists(conf), "the loader created the cluster's conf dir");
        Files.createDirectories(conf);
        assertEquals("berth", loader.load().name());
        Files.writeString(conf.resolve("05-other.conflist"),
                "{\"cniVersion\":\"0.4.0\",\"name\":\"other\",\"plugins\":[{\"type\":\"bridge\"}]}");
        assertEquals("other", loader.load().name());
        Files.delete(conf.resolve("05-other.conflist"));
        Files.writeString(conf.resolve("01-single.conf"), "{\"cniVersion\":\"0.3.1\",\"name\":\"single\",\"type\":\"bridge\"}");
        assertEquals("single", loader.load().name());
        assertEquals(1, loader.load().plugins().size());
        Files.delete(conf.resolve("01-single.conf"));
        assertEquals("berth", loader.load().name(), "back to the built-in network once the dir is empty");
        try (var files = Files.list(conf)) {
            assertEquals(0, files.count(), "the loader wrote into the conf dir");
        }
    }

    @Test
    void aConflistAnEarlierBerthWroteIsRecognised() {
        NetworkConfigList legacy = BuiltinNetwork.config("berth0", "10.66.0.0/16", dir);
        assertTrue(BuiltinNetwork.isLegacyDefaultFile(legacy));
        assertFalse(BuiltinNetwork.isLegacyDefaultFile(NetworkConfigList.parse(
                "{\"cniVersion\":\"1.0.0\",\"name\":\"cbr0\",\"plugins\":[{\"type\":\"bridge\"}]}", false, "x")));
    }
}
