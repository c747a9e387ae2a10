package dev.berth.runtime.cgroup;

/**
 * Names cgroups. The cgroupfs driver manages directories itself; a systemd driver would name
 * slices and scopes and ask systemd to create them, behind the same interface.
 */
public interface CgroupDriver {
    String name();

    /** The container's cgroup (absolute in the v2 hierarchy) under its pod's cgroup. */
    String containerCgroup(String podCgroup, String containerId);

    /** The OCI spec's cgroupsPath for that cgroup (runc always gets it absolute). */
    String ociCgroupsPath(String containerCgroup);
}
