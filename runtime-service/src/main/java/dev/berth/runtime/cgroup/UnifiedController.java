package dev.berth.runtime.cgroup;

import dev.berth.core.error.BerthException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import runtime.v1.LinuxContainerResources;

/**
 * The unified map: raw cgroup v2 files by name. Each key must be "controller.file" with no path
 * separator, so a key can never name a file outside the container's cgroup.
 */
public final class UnifiedController {
    private static final Pattern KEY = Pattern.compile("[a-z_]+\\.[a-zA-Z0-9_.]+");

    private UnifiedController() {}

    /** Controller name -> (file -> value) for every unified entry the dedicated controllers do not own. */
    public static Map<String, Map<String, String>> byController(LinuxContainerResources r) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : r.getUnifiedMap().entrySet()) {
            String key = e.getKey();
            if (!KEY.matcher(key).matches() || key.contains("..")) {
                throw BerthException.invalid("unified key \"%s\" is not a cgroup v2 file name like memory.high", key);
            }
            if (key.equals("pids.max")) {
                continue; // PidsController validates it
            }
            String controller = key.substring(0, key.indexOf('.'));
            if (controller.equals("cgroup")) {
                throw BerthException.invalid("unified key \"%s\": cgroup core files are managed by berth", key);
            }
            out.computeIfAbsent(controller, c -> new LinkedHashMap<>()).put(key, e.getValue());
        }
        return out;
    }
}
