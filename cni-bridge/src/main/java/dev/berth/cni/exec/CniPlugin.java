package dev.berth.cni.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One CNI plugin: an external executable or one berth runs in-process. {@code conf} is exactly
 * what an executable would read on stdin; the answer is the CNI result (ADD) or null (DEL, CHECK,
 * STATUS). Failures are thrown as {@link CniPluginException}.
 */
public interface CniPlugin {
    JsonNode invoke(ObjectNode conf, PluginInvocation invocation);
}
