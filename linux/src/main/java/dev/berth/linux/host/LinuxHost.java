package dev.berth.linux.host;

import dev.berth.linux.host.system.SystemLinuxHost;
import java.nio.file.Path;

/**
 * Everything berth asks of the node's kernel, by concern. The daemon builds {@link #system()} once
 * and passes it to the classes that orchestrate pods and containers; tests pass a fake.
 */
public interface LinuxHost {
    MountTable mounts();

    NamespacePins namespaces();

    ProcessTable processes();

    /** The cgroup v2 hierarchy mounted at {@code mount} (a plain directory in tests). */
    CgroupFiles cgroups(Path mount);

    ProcFs procfs();

    NetLinks links();

    HostCommands commands();

    /** The real host: system calls through FFM, node programs through fork+exec. */
    static LinuxHost system() {
        return SystemLinuxHost.INSTANCE;
    }
}
