package dev.berth.runtime.cgroup;

import dev.berth.core.error.BerthException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import runtime.v1.LinuxContainerResources;

/** cpuset: cpuset_cpus and cpuset_mems as lists like "0-2,4". */
public final class CpusetController implements CgroupController {
    private static final Pattern LIST = Pattern.compile("\\d+(-\\d+)?(,\\d+(-\\d+)?)*");

    @Override
    public String name() {
        return "cpuset";
    }

    @Override
    public Map<String, String> files(LinuxContainerResources r) {
        Map<String, String> f = new LinkedHashMap<>();
        if (!r.getCpusetCpus().isEmpty()) {
            f.put("cpuset.cpus", checked("cpuset_cpus", r.getCpusetCpus()));
        }
        if (!r.getCpusetMems().isEmpty()) {
            f.put("cpuset.mems", checked("cpuset_mems", r.getCpusetMems()));
        }
        return f;
    }

    private static String checked(String field, String v) {
        if (!LIST.matcher(v).matches()) {
            throw BerthException.invalid("%s \"%s\" is not a list like 0-2,4", field, v);
        }
        return v;
    }
}
