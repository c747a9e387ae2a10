package dev.berth.cni.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A parsed CNI network configuration list (".conflist"), or a single-plugin ".conf" lifted into one.
 * Plugins are kept as JSON objects: each plugin reads its own keys.
 */
public record NetworkConfigList(String name, String cniVersion, boolean disableCheck, List<ObjectNode> plugins,
        String source) {
    public static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.\\-]*");

    /** Parses conflist JSON (or a .conf when {@code singlePlugin}); throws INVALID_ARGUMENT saying what is wrong. */
    public static NetworkConfigList parse(String json, boolean singlePlugin, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (Exception e) {
            throw BerthException.invalid("CNI config %s is not valid JSON: %s", source, e.getMessage());
        }
        if (!(root instanceof ObjectNode obj)) {
            throw BerthException.invalid("CNI config %s: top level must be a JSON object", source);
        }
        String name = text(obj, "name");
        if (name == null || !NAME.matcher(name).matches()) {
            throw BerthException.invalid("CNI config %s: \"name\" is missing or not a valid network name", source);
        }
        String version = text(obj, "cniVersion");
        if (version == null || version.isBlank()) {
            throw BerthException.invalid("CNI config %s: \"cniVersion\" is missing", source);
        }
        List<ObjectNode> plugins = new ArrayList<>();
        if (singlePlugin) {
            plugins.add(obj.deepCopy());
        } else {
            JsonNode list = obj.get("plugins");
            if (!(list instanceof ArrayNode arr) || arr.isEmpty()) {
                throw BerthException.invalid("CNI config %s: \"plugins\" must be a non-empty array", source);
            }
            for (JsonNode p : arr) {
                if (!(p instanceof ObjectNode po) || text(po, "type") == null) {
                    throw BerthException.invalid("CNI config %s: every plugin needs a \"type\"", source);
                }
                plugins.add(po);
            }
        }
        if (singlePlugin && text(obj, "type") == null) {
            throw BerthException.invalid("CNI config %s: \"type\" is missing", source);
        }
        return new NetworkConfigList(name, version, obj.path("disableCheck").asBoolean(false), List.copyOf(plugins),
                source);
    }

    /**
     * The config one plugin receives on stdin: its own object plus name, cniVersion and (if any)
     * prevResult and runtimeConfig.
     */
    public ObjectNode pluginConfig(int index, JsonNode prevResult, ObjectNode runtimeConfig) {
        ObjectNode conf = plugins.get(index).deepCopy();
        conf.put("name", name);
        conf.put("cniVersion", cniVersion);
        if (prevResult != null && !prevResult.isNull()) {
            conf.set("prevResult", prevResult);
        } else {
            conf.remove("prevResult");
        }
        if (runtimeConfig != null && !runtimeConfig.isEmpty()) {
            conf.set("runtimeConfig", runtimeConfig);
        }
        return conf;
    }

    /** Whether the plugin at index declared the capability (e.g. "portMappings"). */
    public boolean hasCapability(int index, String capability) {
        return plugins.get(index).path("capabilities").path(capability).asBoolean(false);
    }

    /** The conflist as JSON again (kept in the result cache so DEL runs the config ADD ran). */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("cniVersion", cniVersion);
        o.put("name", name);
        if (disableCheck) {
            o.put("disableCheck", true);
        }
        ArrayNode arr = o.putArray("plugins");
        plugins.forEach(arr::add);
        return o;
    }

    /** Whether the spec version has STATUS (CNI 1.1.0 and later). */
    public boolean supportsStatus() {
        String[] p = cniVersion.split("\\.");
        try {
            int major = Integer.parseInt(p[0]);
            int minor = p.length > 1 ? Integer.parseInt(p[1]) : 0;
            return major > 1 || (major == 1 && minor >= 1);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }
}
