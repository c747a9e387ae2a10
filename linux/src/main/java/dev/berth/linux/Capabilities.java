package dev.berth.linux;

import dev.berth.core.error.BerthException;
import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Linux capabilities by name, and the ones this process holds. A runtime started by the daemon
 * (conmon, then runc as root) can give a container no capability outside the daemon's own
 * bounding set: asking for one makes {@code runc create} fail with "unable to apply caps".
 */
public final class Capabilities {
    /** Every capability name, indexed by its kernel number (include/uapi/linux/capability.h, 6.x). */
    public static final List<String> KNOWN = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
            "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
            "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
            "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
            "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
            "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
            "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
            "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE");

    private Capabilities() {}

    /**
     * The capabilities this process can pass on: effective and in the bounding set (what a root
     * child gets across exec), read from /proc/self/status.
     */
    public static Set<String> ofSelf() {
        try {
            return held(ProcStatus.ofSelf());
        } catch (IOException e) {
            throw BerthException.internal("cannot read /proc/self/status: " + e.getMessage(), e);
        }
    }

    /** {@link #ofSelf()} from the text of a /proc/<pid>/status file. */
    public static Set<String> held(String procStatus) {
        return held(ProcStatus.parse(procStatus));
    }

    private static Set<String> held(ProcStatus status) {
        return names(mask(status, "CapEff") & mask(status, "CapBnd"));
    }

    /** The names of the bits set in a capability mask, in kernel order; unknown bits are left out. */
    public static Set<String> names(long mask) {
        Set<String> out = new LinkedHashSet<>();
        for (int bit = 0; bit < KNOWN.size(); bit++) {
            if ((mask & (1L << bit)) != 0) {
                out.add(KNOWN.get(bit));
            }
        }
        return Collections.unmodifiableSet(out);
    }

    private static long mask(ProcStatus status, String field) {
        return status.mask(field).orElseThrow(
                () -> BerthException.internal("no " + field + " line in the process status", null));
    }
}
