package dev.berth.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The agent's writes to the API server, all about its own Node: labels and annotations (a
 * strategic merge patch of the Node), the BerthRuntimeReady condition (a strategic merge patch of
 * nodes/status, merged by condition type so kubelet's own conditions stay), and Events.
 */
final class KubeNode {
    static final String SOURCE = "berth-node-agent";
    static final String EVENTS_NAMESPACE = "default";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicLong SEQ = new AtomicLong();

    private final KubernetesClient client;
    private final String node;

    KubeNode(KubernetesClient client, String node) {
        this.client = client;
        this.node = node;
    }

    /** Sets these labels and annotations; a null value removes the key. */
    void patchMetadata(Map<String, String> labels, Map<String, String> annotations) {
        ObjectNode patch = JSON.createObjectNode();
        ObjectNode meta = patch.putObject("metadata");
        ObjectNode l = meta.putObject("labels");
        labels.forEach(l::put);
        ObjectNode a = meta.putObject("annotations");
        annotations.forEach(a::put);
        // Maps merge alike under JSON merge patch and strategic merge; a null value removes the key.
        client.nodes().withName(node).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
    }

    void patchCondition(NodeReport.Condition c, Instant transition) {
        ObjectNode patch = JSON.createObjectNode();
        ObjectNode cond = patch.putObject("status").putArray("conditions").addObject();
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        cond.put("type", NodeReport.CONDITION).put("status", c.status()).put("reason", c.reason())
                .put("message", c.message()).put("lastHeartbeatTime", now)
                .put("lastTransitionTime", transition.truncatedTo(ChronoUnit.SECONDS).toString());
        try {
            // merged by condition type: kubelet's own conditions stay
            client.nodes().withName(node).subresource("status")
                    .patch(PatchContext.of(PatchType.STRATEGIC_MERGE), patch.toString());
        } catch (KubernetesClientException e) {
            if (e.getCode() != 415) {
                throw e;
            }
            // A server without strategic merge (the tests' mock): the whole list, guarded by resourceVersion.
            Node n = client.nodes().withName(node).get();
            ArrayNode all = JSON.createArrayNode();
            for (NodeCondition other : n.getStatus() == null || n.getStatus().getConditions() == null
                    ? java.util.List.<NodeCondition>of() : n.getStatus().getConditions()) {
                if (!other.getType().equals(NodeReport.CONDITION)) {
                    all.add(JSON.valueToTree(other));
                }
            }
            all.add(cond);
            ObjectNode full = JSON.createObjectNode();
            full.putObject("metadata").put("resourceVersion", n.getMetadata().getResourceVersion());
            full.putObject("status").set("conditions", all);
            client.nodes().withName(node).subresource("status")
                    .patch(PatchContext.of(PatchType.JSON_MERGE), full.toString());
        }
    }

    ObjectReference nodeRef() {
        return new ObjectReferenceBuilder().withKind("Node").withApiVersion("v1").withName(node).withUid(node)
                .build();
    }

    static ObjectReference podRef(String namespace, String name, String uid, String container) {
        return new ObjectReferenceBuilder().withKind("Pod").withApiVersion("v1").withNamespace(namespace)
                .withName(name).withUid(uid).withFieldPath(container == null ? null : "spec.containers{" + container + "}")
                .build();
    }

    void postEvent(ObjectReference about, String type, String reason, String message) {
        String ns = about.getNamespace() == null ? EVENTS_NAMESPACE : about.getNamespace();
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        Event e = new EventBuilder()
                .withNewMetadata().withNamespace(ns)
                .withName(about.getName() + "." + Long.toHexString(System.currentTimeMillis()) + SEQ.incrementAndGet())
                .endMetadata()
                .withInvolvedObject(about).withType(type).withReason(reason).withMessage(message)
                .withNewSource().withComponent(SOURCE).withHost(node).endSource()
                .withReportingComponent(SOURCE).withReportingInstance(node)
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .build();
        client.v1().events().inNamespace(ns).resource(e).create();
    }
}
