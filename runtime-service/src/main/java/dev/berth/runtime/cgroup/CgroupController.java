package dev.berth.runtime.cgroup;

import java.util.Map;
import runtime.v1.LinuxContainerResources;

/** One cgroup v2 controller: which interface files CRI resources turn into, and their values. */
public interface CgroupController {
    /** The controller's name as cgroup.controllers lists it ("cpu", "memory", ...). */
    String name();

    /** File name -> value to write; empty when the resources ask nothing of this controller. */
    Map<String, String> files(LinuxContainerResources r);
}
