package dev.berth.runtime.cgroup;

import dev.berth.core.error.BerthException;
import java.util.Map;
import runtime.v1.LinuxContainerResources;

/** pids: CRI has no field of its own for it; kubelet sends the limit as unified["pids.max"]. */
public final class PidsController implements CgroupController {
    @Override
    public String name() {
        return "pids";
    }

    @Override
    public Map<String, String> files(LinuxContainerResources r) {
        String v = r.getUnifiedMap().get("pids.max");
        if (v == null) {
            return Map.of();
        }
        if (!v.equals("max")) {
            try {
                if (Long.parseLong(v) <= 0) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                throw BerthException.invalid("unified pids.max \"%s\" must be a positive number or \"max\"", v);
            }
        }
        return Map.of("pids.max", v);
    }
}
