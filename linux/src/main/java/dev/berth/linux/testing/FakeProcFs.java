package dev.berth.linux.testing;

import dev.berth.linux.Errno;
import dev.berth.linux.host.ProcFs;
import dev.berth.linux.net.NetDevices;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Sysctls remembered per namespace pair; a pinned namespace that is not mounted is ENOENT (setns would fail). */
public final class FakeProcFs implements ProcFs {
    private final FakeLinuxHost host;
    private final Map<String, String> sysctls = new LinkedHashMap<>();

    FakeProcFs(FakeLinuxHost host) {
        this.host = host;
    }

    @Override
    public void writeSysctls(Path netns, Path ipcns, Map<String, String> values) {
        synchronized (host) {
            host.record("procfs.writeSysctls", netns, ipcns, Map.copyOf(values));
            for (Path ns : new Path[] {netns, ipcns}) {
                if (ns != null && host.mounts().at(ns) == null) {
                    throw FakeLinuxHost.error("setns", ns, Errno.EINVAL, "not a namespace");
                }
            }
            values.forEach((k, v) -> {
                host.record("procfs.writeSysctl", k, v); // one per file, so one can be made to fail
                sysctls.put(netns + "|" + ipcns + "|" + k, v);
            });
        }
    }

    @Override
    public List<NetDevices.Counters> netDevices(Path netns) {
        synchronized (host) {
            host.record("procfs.netDevices", netns);
            List<NetDevices.Counters> out = new ArrayList<>();
            for (String name : host.links().inside(netns)) {
                out.add(new NetDevices.Counters(name, 0, 0, 0, 0, 0, 0, 0, 0));
            }
            return out;
        }
    }

    /** The value written for {@code key} in these namespaces, or null. */
    public String sysctl(Path netns, Path ipcns, String key) {
        synchronized (host) {
            return sysctls.get(netns + "|" + ipcns + "|" + key);
        }
    }
}
