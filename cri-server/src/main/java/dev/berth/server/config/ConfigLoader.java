package dev.berth.server.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads berth's configuration: defaults from {@link ConfigKeys}, then the YAML file, then
 * {@code BERTH_*} environment variables. The file is optional only when it is the default path;
 * a path the operator named must exist. Unknown keys are errors, so typos do not pass silently.
 */
public final class ConfigLoader {
    public static final Path DEFAULT_FILE = Path.of("/etc/berth/config.yaml");

    private ConfigLoader() {}

    /** Loads from the file named by BERTH_CONFIG (or the default path) and the environment. */
    public static BerthConfig load(Map<String, String> env) {
        String named = env.get("BERTH_CONFIG");
        Path file = named == null || named.isBlank() ? DEFAULT_FILE : Path.of(named);
        return load(file, named != null && !named.isBlank(), env);
    }

    public static BerthConfig load(Path file, boolean mustExist, Map<String, String> env) {
        Map<String, String> values = new LinkedHashMap<>();
        for (ConfigKeys.Key k : ConfigKeys.ALL) {
            values.put(k.name(), k.defaultValue());
        }
        List<String> problems = new java.util.ArrayList<>();
        if (Files.exists(file)) {
            values.putAll(readYaml(file, problems));
        } else if (mustExist) {
            throw new ConfigException("config file " + file + " does not exist");
        }
        for (ConfigKeys.Key k : ConfigKeys.ALL) {
            if (k.envAlias() != null && env.get(k.envAlias()) != null) {
                values.put(k.name(), env.get(k.envAlias()));
            }
            String v = env.get(k.envName());
            if (v != null) {
                values.put(k.name(), v);
            }
        }
        // Environment can also add handlers: BERTH_RUNTIMES_<NAME>=/path.
        env.forEach((name, v) -> {
            if (name.startsWith("BERTH_RUNTIMES_")) {
                values.put(ConfigKeys.RUNTIMES_PREFIX + name.substring("BERTH_RUNTIMES_".length()).toLowerCase(), v);
            }
        });
        return BerthConfig.from(file, values, problems);
    }

    /** The file's keys, flattened to dotted names; unknown or empty keys are added to {@code problems}. */
    private static Map<String, String> readYaml(Path file, List<String> problems) {
        Object tree;
        try {
            // readTree, not readValue: a file of only comments is a valid, empty configuration.
            ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
            JsonNode node = yaml.readTree(file.toFile());
            tree = node == null || node.isMissingNode() || node.isNull() ? null : yaml.treeToValue(node, Object.class);
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            throw new ConfigException("config file " + file + " is not valid YAML" + where + ": "
                    + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
        }
        Map<String, String> flat = new LinkedHashMap<>();
        if (tree == null) {
            return flat;
        }
        if (!(tree instanceof Map<?, ?> map)) {
            throw new ConfigException("config file " + file + " must hold a YAML mapping of keys, not "
                    + tree.getClass().getSimpleName());
        }
        flatten(file, "", map, flat, problems);
        return flat;
    }

    /** The YAML parser explains over several lines; the daemon's start failure is one line. */
    private static String oneLine(String message) {
        return message == null ? "" : message.strip().replaceAll("\\s*\\n\\s*", "; ");
    }

    private static void flatten(Path file, String prefix, Map<?, ?> map, Map<String, String> out,
            List<String> problems) {
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = prefix + e.getKey();
            Object v = e.getValue();
            if (v instanceof Map<?, ?> nested) {
                flatten(file, key + ".", nested, out, problems);
                continue;
            }
            if (ConfigKeys.find(key) == null && !key.startsWith(ConfigKeys.RUNTIMES_PREFIX)) {
                problems.add("config file " + file + ": unknown key '" + key
                        + "' (known keys are listed in the README and by berth config default)");
                continue;
            }
            if (v instanceof List<?> list) {
                out.put(key, String.join(",", list.stream().map(String::valueOf).toList()));
            } else if (v == null) {
                problems.add("config file " + file + ": key '" + key + "' has no value");
            } else {
                out.put(key, String.valueOf(v));
            }
        }
    }

    /** The default configuration as commented YAML, rendered from {@link ConfigKeys}. */
    public static String renderDefaults() {
        StringBuilder sb = new StringBuilder("# berth configuration (/etc/berth/config.yaml); every key is optional.\n");
        String section = "";
        for (ConfigKeys.Key k : ConfigKeys.ALL) {
            int dot = k.name().indexOf('.');
            String top = dot < 0 ? "" : k.name().substring(0, dot);
            String leaf = dot < 0 ? k.name() : k.name().substring(dot + 1);
            if (!top.equals(section)) {
                if (!top.isEmpty()) {
                    sb.append(top).append(":\n");
                }
                section = top;
            }
            String indent = top.isEmpty() ? "" : "  ";
            sb.append(indent).append("# ").append(k.doc()).append(" (env ").append(k.envName()).append(")\n");
            String value = k.defaultValue().contains(",")
                    ? "[" + k.defaultValue().replace(",", ", ") + "]"
                    : k.defaultValue();
            sb.append(indent).append(leaf).append(": ").append(value).append('\n');
        }
        return sb.toString();
    }
}
