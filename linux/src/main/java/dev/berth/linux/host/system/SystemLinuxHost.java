package dev.berth.linux.host.system;

import dev.berth.linux.host.CgroupFiles;
import dev.berth.linux.host.HostCommands;
import dev.berth.linux.host.LinuxHost;
import dev.berth.linux.host.MountTable;
import dev.berth.linux.host.NamespacePins;
import dev.berth.linux.host.NetLinks;
import dev.berth.linux.host.ProcFs;
import dev.berth.linux.host.ProcessTable;
import java.nio.file.Path;

/** The real node: each concern backed by the FFM bindings of the {@code linux} module. */
public final class SystemLinuxHost implements LinuxHost {
    public static final SystemLinuxHost INSTANCE = new SystemLinuxHost();

    private final MountTable mounts = new SystemMountTable();
    private final NamespacePins namespaces = new SystemNamespacePins();
    private final ProcessTable processes = new SystemProcessTable();
    private final ProcFs procfs = new SystemProcFs();
    private final NetLinks links = new SystemNetLinks();
    private final HostCommands commands = new SystemHostCommands();

    private SystemLinuxHost() {}

    @Override
    public MountTable mounts() {
        return mounts;
    }

    @Override
    public NamespacePins namespaces() {
        return namespaces;
    }

    @Override
    public ProcessTable processes() {
        return processes;
    }

    @Override
    public CgroupFiles cgroups(Path mount) {
        return new SystemCgroupFiles(mount);
    }

    @Override
    public ProcFs procfs() {
        return procfs;
    }

    @Override
    public NetLinks links() {
        return links;
    }

    @Override
    public HostCommands commands() {
        return commands;
    }
}
