package dev.berth.runtime.userns;

import dev.berth.linux.IdMappedMounts;
import dev.berth.linux.ns.UserNamespaceHolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Whether this node can run pods with userns mode POD, as Status reports it per runtime handler
 * (features.user_namespaces). It needs user namespaces, idmapped mounts of the filesystem holding
 * the state root (tried once: a throw-away namespace maps a range and the root's mount is cloned
 * with that idmapping), and overlayfs on idmapped layers (kernel 5.19+). The runtimes (runc 1.1+,
 * crun) only join the pod's namespace, which every version does.
 */
public final class UserNamespaceSupport {
    private static final Logger LOG = Logger.getLogger(UserNamespaceSupport.class.getName());
    private static final Map<Path, Optional<String>> PROBED = new ConcurrentHashMap<>();

    private UserNamespaceSupport() {}

    /** True when pods with their own user namespace work with state under {@code stateRoot}. */
    public static boolean available(Path stateRoot) {
        return problem(stateRoot).isEmpty();
    }

    /** Why they do not, or empty; probed once per directory. */
    public static Optional<String> problem(Path stateRoot) {
        return PROBED.computeIfAbsent(stateRoot.toAbsolutePath().normalize(), UserNamespaceSupport::probe);
    }

    private static Optional<String> probe(Path dir) {
        Optional<String> kernel = kernelProblem(release());
        if (kernel.isPresent()) {
            return kernel;
        }
        Path existing = dir;
        while (existing != null && !Files.isDirectory(existing)) {
            existing = existing.getParent();
        }
        try (UserNamespaceHolder holder = UserNamespaceHolder.start(0)) {
            holder.writeMaps("0 65536 65536\n", "0 65536 65536\n");
            IdMappedMounts.check(existing == null ? Path.of("/") : existing, holder.namespaceFile("user"));
            return Optional.empty();
        } catch (RuntimeException e) {
            String why = "user namespaces with idmapped mounts do not work under " + dir + ": " + e.getMessage();
            LOG.info(why);
            return Optional.of(why);
        }
    }

    /** overlayfs takes idmapped lower layers from Linux 5.19 on. */
    static Optional<String> kernelProblem(String release) {
        String[] v = release.split("[.-]");
        try {
            int major = Integer.parseInt(v[0]);
            int minor = v.length > 1 ? Integer.parseInt(v[1]) : 0;
            if (major > 5 || (major == 5 && minor >= 19)) {
                return Optional.empty();
            }
        } catch (NumberFormatException e) {
            return Optional.of("cannot read the kernel release \"" + release + "\"");
        }
        return Optional.of("kernel " + release + " is older than 5.19, which overlayfs needs for idmapped layers");
    }

    private static String release() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
