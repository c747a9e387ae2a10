package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.runtime.sandbox.SandboxView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import runtime.v1.ContainerConfig;
import runtime.v1.Device;
import runtime.v1.Mount;

/**
 * mounts: the standard kernel filesystems, the pod's /etc/hosts, /etc/resolv.conf, /etc/hostname
 * and /dev/shm, then the request's bind mounts (which win on the same destination), sorted so a
 * parent is mounted before what lies under it. Also linux.devices for the request's devices.
 *
 * <p>Read-only bind mounts: {@code readonly} makes only the top mount read-only (OCI {@code ro}: the
 * runtime remounts the bind itself, mounts below it keep their own flags), as kubelet expects;
 * {@code recursive_read_only} makes every mount below read-only too (OCI {@code rro}, carried out
 * by the runtime with mount_setattr(AT_RECURSIVE)). The latter needs {@code readonly}, private
 * propagation (a mount propagated in later would not be read-only) and a runtime that knows
 * {@code rro}.
 */
public final class MountSpec {
    private MountSpec() {}

    record M(String destination, String type, String source, List<String> options) {}

    static void apply(ObjectNode spec, SpecContext ctx) {
        ContainerConfig c = ctx.config();
        boolean privileged = ctx.security().getPrivileged();
        List<M> mounts = new ArrayList<>();
        mounts.add(new M("/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev")));
        mounts.add(new M("/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k")));
        mounts.add(new M("/dev/pts", "devpts", "devpts",
                List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")));
        mounts.add(new M("/dev/mqueue", "mqueue", "mqueue", List.of("nosuid", "noexec", "nodev")));
        mounts.add(new M("/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", privileged ? "rw" : "ro")));
        mounts.add(new M("/sys/fs/cgroup", "cgroup", "cgroup",
                List.of("nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro")));
        SandboxView sb = ctx.sandbox();
        Set<String> requested = new HashSet<>();
        for (Mount m : c.getMountsList()) {
            requested.add(clean(m.getContainerPath()));
        }
        if (sb.shmPath() != null) {
            mounts.add(new M("/dev/shm", "bind", sb.shmPath().toString(), List.of("rbind", "rprivate", "rw")));
        } else {
            mounts.add(new M("/dev/shm", "tmpfs", "shm",
                    List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")));
        }
        boolean roRoot = ctx.security().getReadonlyRootfs();
        podFile(mounts, requested, "/etc/hosts", sb.hostsFile(), roRoot);
        podFile(mounts, requested, "/etc/resolv.conf", sb.resolvConfFile(), roRoot);
        podFile(mounts, requested, "/etc/hostname", sb.hostnameFile(), roRoot);
        String rootPropagation = null;
        for (Mount m : c.getMountsList()) {
            M bind = bind(m, ctx);
            mounts.removeIf(x -> x.destination().equals(bind.destination()));
            mounts.add(bind);
            if (bind.options().contains("rshared")) {
                rootPropagation = "rshared";
            } else if (bind.options().contains("rslave") && rootPropagation == null) {
                rootPropagation = "rslave";
            }
        }
        if (rootPropagation != null) {
            ((ObjectNode) spec.get("linux")).put("rootfsPropagation", rootPropagation);
        }
        // Stable sort by depth: "/a" before "/a/b", request order kept otherwise.
        mounts.sort(Comparator.comparingInt(m -> m.destination().split("/").length));
        ArrayNode arr = spec.putArray("mounts");
        for (M m : mounts) {
            ObjectNode o = arr.addObject();
            o.put("destination", m.destination());
            o.put("type", m.type());
            o.put("source", m.source());
            ArrayNode opts = o.putArray("options");
            m.options().forEach(opts::add);
        }
        devices(spec, c);
    }

    private static void podFile(List<M> mounts, Set<String> requested, String dest, Path file, boolean ro) {
        if (file == null || requested.contains(dest)) {
            return;
        }
        if (!Files.exists(file)) {
            throw BerthException.precondition("the pod's %s file %s is missing; recreate the pod", dest, file);
        }
        mounts.add(new M(dest, "bind", file.toString(), List.of("rbind", "rprivate", ro ? "ro" : "rw")));
    }

    static M bind(Mount m, SpecContext ctx) {
        String dest = clean(m.getContainerPath());
        if (!dest.startsWith("/")) {
            throw BerthException.invalid("mount container_path \"%s\" must be absolute", m.getContainerPath());
        }
        if (m.getHostPath().isEmpty() || !m.getHostPath().startsWith("/")) {
            throw BerthException.invalid("mount host_path \"%s\" for %s must be an absolute path",
                    m.getHostPath(), dest);
        }
        if (m.getRecursiveReadOnly()) {
            checkRecursiveReadOnly(m, dest, ctx);
        }
        Path src = Path.of(m.getHostPath());
        if (!Files.exists(src)) {
            // kubelet expects a missing host directory to be created, as other runtimes do; but a
            // path in the kernel's own filesystems cannot be made up and must exist.
            String s = src.normalize().toString();
            if (s.startsWith("/proc/") || s.startsWith("/sys/") || s.startsWith("/dev/") || m.getReadonly()) {
                throw BerthException.notFound("mount %s: host path %s does not exist", dest, src);
            }
            try {
                Files.createDirectories(src);
            } catch (IOException e) {
                throw BerthException.precondition("mount %s: host path %s does not exist and cannot be created: %s",
                        dest, src, e.getMessage());
            }
        }
        List<String> opts = new ArrayList<>(List.of("rbind"));
        opts.add(switch (m.getPropagation()) {
            case PROPAGATION_HOST_TO_CONTAINER -> "rslave";
            case PROPAGATION_BIDIRECTIONAL -> "rshared";
            default -> "rprivate";
        });
        opts.add(m.getReadonly() ? "ro" : "rw");
        if (m.getRecursiveReadOnly()) {
            opts.add("rro");
        }
        return new M(dest, "bind", src.toString(), opts);
    }

    private static void checkRecursiveReadOnly(Mount m, String dest, SpecContext ctx) {
        if (!m.getReadonly()) {
            throw BerthException.invalid("mount %s: recursive_read_only needs readonly; a read-write mount cannot be "
                    + "recursively read-only", dest);
        }
        if (m.getPropagation() != runtime.v1.MountPropagation.PROPAGATION_PRIVATE) {
            throw BerthException.invalid("mount %s: recursive_read_only needs private propagation, not %s (mounts "
                    + "propagated into it later would be writable)", dest, m.getPropagation());
        }
        if (!ctx.runtimeFeatures().recursiveReadOnlyMounts()) {
            String h = ctx.sandbox().runtimeHandler();
            throw BerthException.invalid("mount %s: recursive_read_only is not supported by runtime handler %s (it "
                    + "needs runc 1.1 or crun 1.4 or later on Linux 5.12 or later; see Status runtime_handlers)",
                    dest, h == null || h.isEmpty() ? "(default)" : "\"" + h + "\"");
        }
    }

    private static void devices(ObjectNode spec, ContainerConfig c) {
        if (c.getDevicesList().isEmpty()) {
            return;
        }
        ArrayNode devs = ((ObjectNode) spec.get("linux")).putArray("devices");
        ArrayNode allow = ((ObjectNode) spec.get("linux")).withObject("/resources").putArray("devices");
        allow.addObject().put("allow", false).put("access", "rwm");
        for (Device d : c.getDevicesList()) {
            Path host = Path.of(d.getHostPath());
            String perms = d.getPermissions().isEmpty() ? "rwm" : d.getPermissions();
            if (!perms.matches("[rwm]+")) {
                throw BerthException.invalid("device %s: permissions \"%s\" must be letters of rwm", host, perms);
            }
            long rdev;
            boolean block;
            try {
                rdev = ((Number) Files.getAttribute(host, "unix:rdev")).longValue();
                String mode = Integer.toOctalString((Integer) Files.getAttribute(host, "unix:mode"));
                int fmt = (Integer) Files.getAttribute(host, "unix:mode") & 0170000;
                if (fmt != 0020000 && fmt != 0060000) {
                    throw BerthException.invalid("device %s is not a character or block device (mode %s)", host, mode);
                }
                block = fmt == 0060000;
            } catch (IOException e) {
                throw BerthException.notFound("device %s: %s", host, e.getMessage());
            }
            long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
            long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
            String dest = d.getContainerPath().isEmpty() ? d.getHostPath() : d.getContainerPath();
            devs.addObject().put("path", dest).put("type", block ? "b" : "c").put("major", major).put("minor", minor)
                    .put("fileMode", 0666).put("uid", 0).put("gid", 0);
            allow.addObject().put("allow", true).put("type", block ? "b" : "c").put("major", major)
                    .put("minor", minor).put("access", perms);
        }
    }

    static String clean(String p) {
        String s = Path.of(p.isEmpty() ? "/" : p).normalize().toString();
        return s.length() > 1 && s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }
}
