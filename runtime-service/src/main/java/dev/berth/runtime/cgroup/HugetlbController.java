package dev.berth.runtime.cgroup;

import dev.berth.core.error.BerthException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import runtime.v1.HugepageLimit;
import runtime.v1.LinuxContainerResources;

/** hugetlb: each hugepage_limits entry ("2MB", limit) -> hugetlb.2MB.max. */
public final class HugetlbController implements CgroupController {
    private static final Pattern SIZE = Pattern.compile("\\d+[KMG]B");

    @Override
    public String name() {
        return "hugetlb";
    }

    @Override
    public Map<String, String> files(LinuxContainerResources r) {
        Map<String, String> f = new LinkedHashMap<>();
        for (HugepageLimit h : r.getHugepageLimitsList()) {
            if (!SIZE.matcher(h.getPageSize()).matches()) {
                throw BerthException.invalid("hugepage page_size \"%s\" is not like 2MB or 1GB", h.getPageSize());
            }
            f.put("hugetlb." + h.getPageSize() + ".max", Long.toString(h.getLimit()));
        }
        return f;
    }
}
