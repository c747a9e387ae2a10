package dev.berth.runtime.cgroup;

import java.util.LinkedHashMap;
import java.util.Map;
import runtime.v1.LinuxContainerResources;

/** cpu: shares -> cpu.weight, quota and period -> cpu.max. */
public final class CpuController implements CgroupController {
    static final long DEFAULT_PERIOD = 100_000;

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Map<String, String> files(LinuxContainerResources r) {
        Map<String, String> f = new LinkedHashMap<>();
        if (r.getCpuShares() > 0) {
            f.put("cpu.weight", Long.toString(weight(r.getCpuShares())));
        }
        if (r.getCpuQuota() != 0 || r.getCpuPeriod() != 0) {
            long period = r.getCpuPeriod() > 0 ? r.getCpuPeriod() : DEFAULT_PERIOD;
            String quota = r.getCpuQuota() > 0 ? Long.toString(r.getCpuQuota()) : "max";
            f.put("cpu.max", quota + " " + period);
        }
        return f;
    }

    /** cgroup v1 shares [2, 262144] mapped linearly onto v2 weight [1, 10000], as runc and kubelet do. */
    public static long weight(long shares) {
        long s = Math.max(2, Math.min(262_144, shares));
        return 1 + ((s - 2) * 9_999) / 262_142;
    }
}
