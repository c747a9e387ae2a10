package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.linux.Capabilities;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import runtime.v1.Capability;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.SecurityProfile;

/**
 * Capabilities (default set, add, drop, ALL), privileged, no_new_privs, masked and readonly paths,
 * seccomp (RuntimeDefault, Localhost, Unconfined) and AppArmor.
 */
public final class SecuritySpec {
    /** The capabilities a non-privileged container starts with (the set Docker and containerd use). */
    public static final List<String> DEFAULT_CAPS = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
            "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");
    /** Every capability name berth accepts in a request. */
    public static final List<String> ALL_CAPS = Capabilities.KNOWN;
    public static final List<String> DEFAULT_MASKED = List.of("/proc/acpi", "/proc/asound", "/proc/kcore",
            "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
            "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap");
    public static final List<String> DEFAULT_READONLY = List.of("/proc/bus", "/proc/fs", "/proc/irq",
            "/proc/sys", "/proc/sysrq-trigger");

    private SecuritySpec() {}

    static void apply(ObjectNode spec, SpecContext ctx) {
        LinuxContainerSecurityContext sc = ctx.security();
        requirePrivilegedPod(sc, ctx);
        ObjectNode process = (ObjectNode) spec.get("process");
        ObjectNode linux = (ObjectNode) spec.get("linux");
        Set<String> caps = capabilities(sc, ctx.daemonCapabilities());
        ObjectNode c = process.putObject("capabilities");
        for (String set : List.of("bounding", "effective", "permitted")) {
            ArrayNode a = c.putArray(set);
            caps.forEach(a::add);
        }
        ArrayNode ambient = c.putArray("ambient");
        for (String a : sc.getCapabilities().getAddAmbientCapabilitiesList()) {
            String n = capName(a);
            if (!caps.contains(n)) {
                throw BerthException.invalid("ambient capability %s must also be in the bounding set (add it)", n);
            }
            ambient.add(n);
        }
        if (!ambient.isEmpty()) {
            ArrayNode inh = c.putArray("inheritable");
            ambient.forEach(inh::add);
        }
        process.put("noNewPrivileges", sc.getNoNewPrivs());
        if (!sc.getPrivileged()) {
            ArrayNode masked = linux.putArray("maskedPaths");
            (sc.getMaskedPathsCount() > 0 ? sc.getMaskedPathsList() : DEFAULT_MASKED).forEach(masked::add);
            ArrayNode ro = linux.putArray("readonlyPaths");
            (sc.getReadonlyPathsCount() > 0 ? sc.getReadonlyPathsList() : DEFAULT_READONLY).forEach(ro::add);
            SeccompProfiles.forContainer(sc, ctx.seccompDefaultProfile(), caps)
                    .ifPresent(p -> linux.set("seccomp", p));
            apparmor(process, sc, ctx.apparmorEnabled());
        }
    }

    /**
     * A privileged container only in a privileged pod sandbox (containerd: "no privileged container
     * allowed in sandbox"; kubelet asks for a privileged sandbox whenever a container of the pod is).
     * A non-privileged pod's namespaces and admission were decided without it.
     */
    static void requirePrivilegedPod(LinuxContainerSecurityContext sc, SpecContext ctx) {
        if (sc.getPrivileged() && !ctx.sandbox().config().getLinux().getSecurityContext().getPrivileged()) {
            throw BerthException.invalid("no privileged container allowed in pod sandbox %s: the sandbox is not "
                    + "privileged (set privileged in the pod's linux.security_context too)", ctx.sandbox().id());
        }
    }

    /**
     * The container's capability set. Privileged and "ALL" mean every capability the daemon holds
     * (as containerd and CRI-O grant): runc, started by the daemon, cannot give one outside that.
     * The default set is trimmed to it quietly; a capability named in the request that the daemon
     * lacks is refused here, where the reason can still be said.
     */
    static Set<String> capabilities(LinuxContainerSecurityContext sc, Set<String> held) {
        if (sc.getPrivileged()) {
            return grantable(ALL_CAPS, held);
        }
        Capability cc = sc.getCapabilities();
        List<String> add = cc.getAddCapabilitiesList();
        List<String> drop = cc.getDropCapabilitiesList();
        Set<String> caps = grantable(DEFAULT_CAPS, held);
        if (drop.stream().anyMatch(d -> d.equalsIgnoreCase("ALL"))) {
            caps.clear();
        }
        if (add.stream().anyMatch(a -> a.equalsIgnoreCase("ALL"))) {
            caps.addAll(grantable(ALL_CAPS, held));
        }
        for (String a : add) {
            if (!a.equalsIgnoreCase("ALL")) {
                String n = capName(a);
                if (!held.contains(n)) {
                    throw BerthException.precondition("capability %s cannot be granted: berth itself does not hold "
                            + "it (it is outside the daemon's bounding or effective set on this node)", n);
                }
                caps.add(n);
            }
        }
        for (String d : drop) {
            if (!d.equalsIgnoreCase("ALL")) {
                caps.remove(capName(d));
            }
        }
        return caps;
    }

    private static Set<String> grantable(List<String> wanted, Set<String> held) {
        Set<String> out = new LinkedHashSet<>(wanted);
        out.retainAll(held);
        return out;
    }

    static String capName(String s) {
        String n = s.toUpperCase(Locale.ROOT);
        n = n.startsWith("CAP_") ? n : "CAP_" + n;
        if (!ALL_CAPS.contains(n)) {
            throw BerthException.invalid("unknown capability \"%s\"", s);
        }
        return n;
    }

    private static void apparmor(ObjectNode process, LinuxContainerSecurityContext sc, boolean enabled) {
        if (!enabled) {
            return;
        }
        SecurityProfile p = sc.getApparmor();
        if (sc.hasApparmor()) {
            if (p.getProfileType() == SecurityProfile.ProfileType.Localhost) {
                process.put("apparmorProfile", p.getLocalhostRef());
            } else if (p.getProfileType() == SecurityProfile.ProfileType.RuntimeDefault) {
                process.put("apparmorProfile", "unconfined".equals(defaultProfile()) ? "unconfined" : defaultProfile());
            }
        } else if (sc.getApparmorProfile().startsWith("localhost/")) {
            process.put("apparmorProfile", sc.getApparmorProfile().substring("localhost/".length()));
        }
    }

    /** berth loads no AppArmor profile of its own; RuntimeDefault uses the host's container default if loaded. */
    private static String defaultProfile() {
        try {
            String profiles = java.nio.file.Files.readString(java.nio.file.Path.of(
                    "/sys/kernel/security/apparmor/profiles"));
            return profiles.contains("containers-default") ? "containers-default-0.0.0" : "unconfined";
        } catch (java.io.IOException e) {
            return "unconfined";
        }
    }
}
