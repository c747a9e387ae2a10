package dev.berth.linux.host.system;

import dev.berth.linux.Errno;
import dev.berth.linux.LinuxException;
import dev.berth.linux.host.ProcFs;
import dev.berth.linux.net.NetDevices;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** {@link ProcFs} from a {@link NamespaceThread} that joined the pod's namespaces. */
final class SystemProcFs implements ProcFs {
    @Override
    public void writeSysctls(Path netns, Path ipcns, Map<String, String> values) {
        if (values.isEmpty()) {
            return;
        }
        NamespaceThread.run("sysctl", () -> {
            if (netns != null) {
                Namespaces.join(netns, Namespaces.CLONE_NEWNET);
            }
            if (ipcns != null) {
                Namespaces.join(ipcns, Namespaces.CLONE_NEWIPC);
            }
            for (Map.Entry<String, String> e : values.entrySet()) {
                Path p = Path.of("/proc/sys", e.getKey().contains("/") ? e.getKey() : e.getKey().replace('.', '/'));
                try {
                    Files.writeString(p, e.getValue());
                } catch (NoSuchFileException nf) {
                    throw new LinuxException("write", e.getKey(), Errno.ENOENT, "No such file or directory");
                } catch (IOException io) {
                    throw new LinuxException("write", e.getKey(), Errno.EINVAL, io.getMessage());
                }
            }
        });
    }

    @Override
    public List<NetDevices.Counters> netDevices(Path netns) {
        return NetDevices.read(netns);
    }
}
