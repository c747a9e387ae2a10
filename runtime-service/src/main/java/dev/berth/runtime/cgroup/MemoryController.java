package dev.berth.runtime.cgroup;

import dev.berth.core.error.BerthException;
import java.util.LinkedHashMap;
import java.util.Map;
import runtime.v1.LinuxContainerResources;

/** memory: memory_limit_in_bytes -> memory.max, memory_swap_limit_in_bytes -> memory.swap.max. */
public final class MemoryController implements CgroupController {
    @Override
    public String name() {
        return "memory";
    }

    @Override
    public Map<String, String> files(LinuxContainerResources r) {
        Map<String, String> f = new LinkedHashMap<>();
        long mem = r.getMemoryLimitInBytes();
        if (mem < 0) {
            throw BerthException.invalid("memory_limit_in_bytes must not be negative (got %d)", mem);
        }
        if (mem > 0) {
            f.put("memory.max", Long.toString(mem));
        }
        long swap = r.getMemorySwapLimitInBytes();
        if (swap != 0) {
            // CRI (like v1) counts memory+swap together; v2's memory.swap.max is swap alone.
            if (swap < 0) {
                f.put("memory.swap.max", "max");
            } else {
                if (mem > 0 && swap < mem) {
                    throw BerthException.invalid("memory_swap_limit_in_bytes (%d) must be at least "
                            + "memory_limit_in_bytes (%d)", swap, mem);
                }
                f.put("memory.swap.max", Long.toString(mem > 0 ? swap - mem : swap));
            }
        }
        return f;
    }
}
