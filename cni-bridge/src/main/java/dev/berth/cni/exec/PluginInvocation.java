package dev.berth.cni.exec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The CNI_* environment of one plugin call.
 *
 * @param netns the network namespace path, empty when none (DEL of a pod whose netns is gone)
 */
public record PluginInvocation(String command, String containerId, String netns, String ifName, String args,
        String path) {
    public Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", containerId == null ? "" : containerId);
        env.put("CNI_NETNS", netns == null ? "" : netns);
        env.put("CNI_IFNAME", ifName == null ? "" : ifName);
        env.put("CNI_ARGS", args == null ? "" : args);
        env.put("CNI_PATH", path == null ? "" : path);
        return env;
    }

    public PluginInvocation withCommand(String c) {
        return new PluginInvocation(c, containerId, netns, ifName, args, path);
    }
}
