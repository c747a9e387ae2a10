package dev.berth.runtime.cgroup;

/** Plain directories: {@code <pod cgroup>/berth-<container id>}. */
public final class CgroupfsDriver implements CgroupDriver {
    /** Where containers go when their pod has no cgroup of its own. */
    public static final String DEFAULT_PARENT = "/berth";

    @Override
    public String name() {
        return "cgroupfs";
    }

    @Override
    public String containerCgroup(String podCgroup, String containerId) {
        String parent = podCgroup == null || podCgroup.isBlank() ? DEFAULT_PARENT : podCgroup;
        CgroupPaths.check(parent);
        return (parent.endsWith("/") ? parent : parent + "/") + "berth-" + containerId;
    }

    @Override
    public String ociCgroupsPath(String containerCgroup) {
        return containerCgroup;
    }
}
