package dev.berth.runtime.userns;

import dev.berth.core.error.BerthException;
import java.util.List;
import java.util.Optional;
import runtime.v1.IDMapping;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.UserNamespace;

/**
 * A pod's user namespace (namespace_options.userns_options with mode POD): one uid and one gid
 * mapping, each mapping container id 0 (root) and up to a host range. Its containers join it.
 *
 * <p>What is accepted, as containerd and CRI-O accept it: no userns_options or mode NODE (the
 * host's user namespace, no mappings); mode POD with exactly one uid and one gid mapping starting
 * at container id 0. Everything else is INVALID_ARGUMENT: CONTAINER and TARGET modes (a pod's
 * containers share one user namespace), several mappings, root left unmapped, an empty or
 * overflowing range, and a pod that also asks for the node's network, IPC or PID namespace
 * (Kubernetes forbids hostUsers=false with those: the node's namespaces are not owned by the pod's
 * user namespace, so its containers could not mount /sys, /dev/mqueue or /proc).
 */
public record PodUserNamespace(IdMapping uids, IdMapping gids) {
    /** Highest id plus one: 4294967295 ((uid_t) -1) is never a valid id. */
    private static final long ID_LIMIT = 0xFFFF_FFFFL;

    /** One line of a uid_map or gid_map: ids [containerId, containerId+length) are host [hostId, ...). */
    public record IdMapping(long containerId, long hostId, long length) {
        /** "containerId hostId length", the format of /proc/PID/uid_map. */
        public String mapLine() {
            return containerId + " " + hostId + " " + length + "\n";
        }
    }

    /** The host uid of container root. */
    public long hostRootUid() {
        return uids.hostId();
    }

    /** The host gid of container root. */
    public long hostRootGid() {
        return gids.hostId();
    }

    /**
     * The pod's user namespace, or empty when it uses the host's. Throws INVALID_ARGUMENT for every
     * request berth cannot honour.
     */
    public static Optional<PodUserNamespace> forPod(NamespaceOption ns) {
        if (!ns.hasUsernsOptions()) {
            return Optional.empty();
        }
        Optional<PodUserNamespace> userns = parse(ns.getUsernsOptions(), "pod");
        if (userns.isPresent()) {
            rejectNodeMode("network", ns.getNetwork());
            rejectNodeMode("IPC", ns.getIpc());
            rejectNodeMode("PID", ns.getPid());
        }
        return userns;
    }

    private static void rejectNodeMode(String kind, NamespaceMode mode) {
        if (mode == NamespaceMode.NODE) {
            throw BerthException.invalid("user namespace mode POD cannot be combined with the node's %s namespace "
                    + "(%s mode NODE): the node's namespaces are not owned by the pod's user namespace", kind, kind);
        }
    }

    /**
     * The user namespace a container of this pod joins. A container that names none gets its pod's;
     * one that names options must name exactly the pod's (a pod has one user namespace).
     */
    public static Optional<PodUserNamespace> forContainer(NamespaceOption container, NamespaceOption pod) {
        Optional<PodUserNamespace> podUserns = forPod(pod);
        if (!container.hasUsernsOptions()) {
            return podUserns;
        }
        Optional<PodUserNamespace> own = parse(container.getUsernsOptions(), "container");
        if (!own.equals(podUserns)) {
            throw BerthException.invalid("the container's user namespace (%s) differs from its pod's (%s); a pod's "
                    + "containers all use the pod's user namespace", describe(own), describe(podUserns));
        }
        return podUserns;
    }

    private static Optional<PodUserNamespace> parse(UserNamespace u, String what) {
        switch (u.getMode()) {
            case NODE -> {
                if (u.getUidsCount() != 0 || u.getGidsCount() != 0) {
                    throw BerthException.invalid("user namespace mode NODE takes no id mappings (the %s has %d uid "
                            + "and %d gid mappings)", what, u.getUidsCount(), u.getGidsCount());
                }
                return Optional.empty();
            }
            case POD -> {
                return Optional.of(new PodUserNamespace(mapping(u.getUidsList(), "uid"),
                        mapping(u.getGidsList(), "gid")));
            }
            case CONTAINER, TARGET -> throw BerthException.invalid("user namespace mode %s is not supported: a pod's "
                    + "containers share the pod's user namespace (mode POD) or use the node's (mode NODE)",
                    u.getMode().name());
            default -> throw BerthException.invalid("unknown user namespace mode %d", u.getModeValue());
        }
    }

    private static IdMapping mapping(List<IDMapping> list, String kind) {
        if (list.isEmpty()) {
            throw BerthException.invalid("user namespace mode POD needs one %s mapping, got none", kind);
        }
        if (list.size() > 1) {
            throw BerthException.invalid("user namespace mode POD takes exactly one %s mapping, got %d", kind,
                    list.size());
        }
        IDMapping m = list.get(0);
        IdMapping id = new IdMapping(Integer.toUnsignedLong(m.getContainerId()), Integer.toUnsignedLong(m.getHostId()),
                Integer.toUnsignedLong(m.getLength()));
        if (id.length() == 0) {
            throw BerthException.invalid("%s mapping %s maps no ids (length 0)", kind, text(id));
        }
        if (id.containerId() != 0) {
            throw BerthException.invalid("%s mapping %s leaves container %s 0 (root) unmapped: the mapping must start "
                    + "at container id 0", kind, text(id), kind);
        }
        if (id.hostId() + id.length() > ID_LIMIT || id.containerId() + id.length() > ID_LIMIT) {
            throw BerthException.invalid("%s mapping %s runs past the highest id %d", kind, text(id), ID_LIMIT - 1);
        }
        return id;
    }

    private static String text(IdMapping m) {
        return "container " + m.containerId() + " -> host " + m.hostId() + " (length " + m.length() + ")";
    }

    private static String describe(Optional<PodUserNamespace> u) {
        return u.map(p -> "POD, uids " + text(p.uids()) + ", gids " + text(p.gids())).orElse("the node's");
    }
}
