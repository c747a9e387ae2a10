package dev.berth.linux.host;

import dev.berth.linux.net.NetDevices;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** What berth reads and writes under /proc in a pod's namespaces. */
public interface ProcFs {
    /**
     * Writes each sysctl ("net.ipv4.ip_forward" or "net/ipv4/ip_forward") under /proc/sys from a
     * thread inside the network namespace {@code netns} and the IPC namespace {@code ipcns} (null:
     * the daemon's own). ENOENT when this kernel lacks one, EINVAL when a value is refused; the
     * exception's subject is the sysctl's name as given.
     */
    void writeSysctls(Path netns, Path ipcns, Map<String, String> values);

    /** The interface counters of the network namespace pinned at {@code netns}. */
    List<NetDevices.Counters> netDevices(Path netns);
}
