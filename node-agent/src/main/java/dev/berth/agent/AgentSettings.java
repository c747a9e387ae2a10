package dev.berth.agent;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * What the agent needs to know, from its environment (the chart's DaemonSet sets each one).
 *
 * @param nodeName the Node this agent reports on (BERTH_AGENT_NODE_NAME, from spec.nodeName)
 * @param socket berth's CRI socket (BERTH_AGENT_SOCKET)
 * @param labelKey label put on the Node while berth answers (BERTH_AGENT_NODE_LABEL, key=value)
 * @param statusInterval time between Status polls (BERTH_AGENT_STATUS_INTERVAL_SECONDS)
 * @param eventsPerMinute Kubernetes Events posted per minute at most (BERTH_AGENT_EVENTS_PER_MINUTE)
 * @param metricsUrl berth's /metrics, read for pull failures (BERTH_AGENT_METRICS_URL)
 */
public record AgentSettings(String nodeName, Path socket, String labelKey, String labelValue, Duration statusInterval,
        int eventsPerMinute, String metricsUrl) {

    public static AgentSettings fromEnv(Map<String, String> env) {
        String node = env.get("BERTH_AGENT_NODE_NAME");
        if (node == null || node.isBlank()) {
            throw new IllegalArgumentException("BERTH_AGENT_NODE_NAME is required (the pod's spec.nodeName)");
        }
        String label = env.getOrDefault("BERTH_AGENT_NODE_LABEL", "node.berth.dev/runtime=berth");
        int eq = label.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("BERTH_AGENT_NODE_LABEL must be key=value, not " + label);
        }
        return new AgentSettings(node, Path.of(env.getOrDefault("BERTH_AGENT_SOCKET", "/run/berth/berth.sock")),
                label.substring(0, eq), label.substring(eq + 1),
                Duration.ofSeconds(Long.parseLong(env.getOrDefault("BERTH_AGENT_STATUS_INTERVAL_SECONDS", "30"))),
                Integer.parseInt(env.getOrDefault("BERTH_AGENT_EVENTS_PER_MINUTE", "60")),
                env.getOrDefault("BERTH_AGENT_METRICS_URL", "http://127.0.0.1:10360/metrics"));
    }
}
