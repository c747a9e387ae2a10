package dev.berth.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import runtime.v1.RuntimeCondition;
import runtime.v1.RuntimeHandler;
import runtime.v1.StatusResponse;
import runtime.v1.VersionResponse;

/**
 * What the agent writes on its Node, computed from berth's Version and verbose Status: labels,
 * annotations and the BerthRuntimeReady condition (True only when both RuntimeReady and
 * NetworkReady are; otherwise the first false one's reason and message).
 */
record NodeReport(Map<String, String> labels, Map<String, String> annotations, Condition condition) {
    static final String CONDITION = "BerthRuntimeReady";
    static final String PREFIX = "berth.dev/";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A Node condition (status "True", "False" or "Unknown"). */
    record Condition(String status, String reason, String message) {}

    static NodeReport of(AgentSettings s, VersionResponse v, StatusResponse st) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(s.labelKey(), s.labelValue());
        Map<String, String> ann = new LinkedHashMap<>();
        ann.put(PREFIX + "version", v.getRuntimeVersion());
        ann.put(PREFIX + "cri-version", v.getRuntimeApiVersion());
        TreeSet<String> handlers = new TreeSet<>();
        TreeSet<String> features = new TreeSet<>();
        for (RuntimeHandler h : st.getRuntimeHandlersList()) {
            if (h.getName().isEmpty()) {
                continue; // the default handler, listed again under its own name
            }
            handlers.add(h.getName());
            if (h.getFeatures().getUserNamespaces()) {
                features.add("user-namespaces");
            }
            if (h.getFeatures().getRecursiveReadOnlyMounts()) {
                features.add("recursive-read-only-mounts");
            }
        }
        if (checkpointAvailable(st)) {
            features.add("checkpoint");
        }
        if (st.getFeatures().getSupplementalGroupsPolicy()) {
            features.add("supplemental-groups-policy");
        }
        ann.put(PREFIX + "runtime-handlers", String.join(",", handlers));
        ann.put(PREFIX + "features", String.join(",", features));
        return new NodeReport(labels, ann, readiness(st));
    }

    /** Verbose Status' runtime notes say "available (...)" when CRIU works on this node. */
    private static boolean checkpointAvailable(StatusResponse st) {
        String runtime = st.getInfoMap().get("runtime");
        if (runtime == null) {
            return false;
        }
        try {
            JsonNode notes = JSON.readTree(runtime);
            return notes.path("checkpointRestore").asText().startsWith("available");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    static Condition readiness(StatusResponse st) {
        List<String> notReady = new ArrayList<>();
        String reason = null;
        String message = null;
        for (String type : List.of("RuntimeReady", "NetworkReady")) {
            RuntimeCondition c = st.getStatus().getConditionsList().stream().filter(x -> x.getType().equals(type))
                    .findFirst().orElse(null);
            if (c == null || !c.getStatus()) {
                notReady.add(type);
                if (reason == null) {
                    reason = c == null ? type.replace("Ready", "") + "ConditionMissing"
                            : c.getReason().isEmpty() ? "Not" + type : c.getReason();
                    message = c == null ? "berth's Status has no " + type : type + " is false: " + c.getMessage();
                }
            }
        }
        if (notReady.isEmpty()) {
            return new Condition("True", "BerthReady", "berth reports RuntimeReady and NetworkReady");
        }
        if (notReady.size() == 2) {
            message = message + "; NetworkReady is false too";
        }
        return new Condition("False", reason, message);
    }

    /** berth does not answer on its socket. */
    static Condition unreachable(String why) {
        return new Condition("Unknown", "BerthUnreachable", "berth's CRI socket does not answer: " + why);
    }
}
