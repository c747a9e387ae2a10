package dev.berth.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClass;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart: helm lint --strict and helm template are clean with the default values and with every
 * optional part on; every rendered object is a typed fabric8 model object with no field the model
 * does not know; RBAC is what the agent needs and no more; the alert rules pass promtool.
 */
class ChartTest {
    static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final ObjectMapper STRICT = new ObjectMapper(new YAMLFactory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
            .setAnnotationIntrospector(new JacksonAnnotationIntrospector() {
                /** The models' @JsonAnySetter (additionalProperties) would swallow unknown fields. */
                @Override
                public Boolean hasAnySetter(Annotated a) {
                    return false;
                }
            });
    /** prometheus-operator's kinds: typed by fabric8's openshift-model-monitoring (read strictly, below). */
    static final Map<String, Class<? extends HasMetadata>> OPERATOR_KINDS = Map.of(
            "ServiceMonitor", ServiceMonitor.class, "PodMonitor", PodMonitor.class,
            "PrometheusRule", PrometheusRule.class);
    static final Path PROMTOOL = Path.of("/usr/bin/promtool");

    @Test
    void lintStrictIsCleanWithDefaults() {
        assertLintClean(Chart.DIR);
    }

    @Test
    void lintStrictIsCleanWithEverythingOn(@TempDir Path tmp) {
        assertLintClean(Chart.copyWithEverythingOn(tmp));
    }

    private static void assertLintClean(Path chart) {
        LintResult r = new Helm(chart).lint().strict().call();
        List<String> problems = r.getMessages().stream()
                .filter(m -> m.contains("[WARNING]") || m.contains("[ERROR]")).toList();
        assertFalse(r.isFailed(), String.join("\n", r.getMessages()));
        assertEquals(List.of(), problems);
    }

    @Test
    void defaultsRenderTheAgentItsRbacAndTheRuntimeClassesOnly() throws Exception {
        List<HasMetadata> objects = parseAll(Chart.template(Map.of()));
        assertEquals(Set.of("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding", "DaemonSet", "RuntimeClass"), kinds(objects));
        List<RuntimeClass> classes = of(objects, RuntimeClass.class);
        assertEquals(List.of("berth-runc:runc", "berth-crun:crun"),
                classes.stream().map(c -> c.getMetadata().getName() + ":" + c.getHandler()).toList());
        for (RuntimeClass c : classes) {
            assertEquals(Map.of("node.berth.dev/runtime", "berth"), c.getScheduling().getNodeSelector(),
                    "RuntimeClasses land on nodes the agent labelled");
        }
        DaemonSet agent = of(objects, DaemonSet.class).getFirst();
        var env = agent.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv();
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("BERTH_AGENT_NODE_NAME")
                && e.getValueFrom().getFieldRef().getFieldPath().equals("spec.nodeName")));
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("BERTH_AGENT_NODE_LABEL")
                && e.getValue().equals("node.berth.dev/runtime=berth")));
        assertEquals("/run/berth", agent.getSpec().getTemplate().getSpec().getVolumes().getFirst().getHostPath()
                .getPath());
    }

    @Test
    void agentMayGetAndPatchNodesAndCreateEventsAndNothingElse() throws Exception {
        ClusterRole role = of(parseAll(Chart.template(Map.of())), ClusterRole.class).getFirst();
        Set<String> grants = new TreeSet<>();
        for (PolicyRule r : role.getRules()) {
            for (String res : r.getResources()) {
                for (String verb : r.getVerbs()) {
                    grants.add(String.join("/", r.getApiGroups()) + ":" + res + ":" + verb);
                }
            }
            assertTrue(r.getResourceNames() == null || r.getResourceNames().isEmpty());
        }
        assertEquals(Set.of(":nodes:get", ":nodes:patch", ":nodes/status:patch", ":events:create"), grants);
    }

    @Test
    void everythingOnRendersTypedObjectsWithNoUnknownFields() throws Exception {
        String rendered = Chart.template(Chart.EVERYTHING_ON);
        List<HasMetadata> objects = parseAll(rendered);
        assertTrue(kinds(objects).containsAll(Set.of("ConfigMap", "Service", "ServiceMonitor", "PodMonitor",
                "PrometheusRule", "DaemonSet", "RuntimeClass")), kinds(objects).toString());
        assertEquals(2, of(objects, DaemonSet.class).size(), "agent and installer");
        ConfigMap installer = of(objects, ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().endsWith("-installer")).findFirst().orElseThrow();
        JsonNode config = YAML.readTree(installer.getData().get("config.yaml"));
        assertEquals("0.0.0.0", config.at("/http/host").asText(), "config comes from values");
        assertEquals("/usr/sbin/runc", config.at("/runtimes/runc").asText());
        assertTrue(installer.getData().get("install.sh").contains("trap uninstall_berth TERM"),
                "the installer undoes itself on removal");
        ConfigMap dashboard = of(objects, ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().endsWith("-dashboard")).findFirst().orElseThrow();
        JsonNode json = new ObjectMapper().readTree(dashboard.getData().get("berth.json"));
        assertTrue(json.get("panels").size() >= 10);
        for (RuntimeClass c : of(objects, RuntimeClass.class)) {
            assertEquals("8Mi", c.getOverhead().getPodFixed().get("memory").toString());
        }
    }

    /** The check itself: a field the operator's model lacks, or one in the wrong place, fails it. */
    @Test
    void aMisplacedMonitorFieldFailsTheModelCheck() {
        String rendered = Chart.template(Map.of("metrics.podMonitor.enabled", true));
        String good = Chart.docs(rendered).stream().filter(d -> d.yaml().contains("kind: PodMonitor"))
                .findFirst().orElseThrow().yaml();
        parseAll("---\n# Source: berth/templates/monitors.yaml\n" + good);
        String bad = good.replace("      path: /metrics\n", "      path: /metrics\n      scrapeEvery: 30s\n");
        assertFalse(bad.equals(good));
        AssertionError e = assertThrows(AssertionError.class,
                () -> parseAll("---\n# Source: berth/templates/monitors.yaml\n" + bad));
        assertTrue(e.getMessage().contains("scrapeEvery"), e.getMessage());
    }

    /** Every key of the daemon's documented config file has a value in the chart. */
    @Test
    void valuesHaveEveryConfigKey() throws Exception {
        String readme = Files.readString(Chart.HOME.resolve("README.md"));
        Set<String> keys = new TreeSet<>();
        var m = java.util.regex.Pattern.compile("^\\| `([a-z_.<>]+)` \\| `", java.util.regex.Pattern.MULTILINE)
                .matcher(readme.substring(readme.indexOf("## Configuration")));
        while (m.find()) {
            keys.add(m.group(1));
        }
        assertTrue(keys.size() >= 20, keys.toString());
        JsonNode config = YAML.readTree(Chart.DIR.resolve("values.yaml").toFile()).get("config");
        for (String key : keys) {
            String pointer = "/" + key.replace(".<handler>", "/runc").replace('.', '/');
            assertFalse(config.at(pointer).isMissingNode(), "values.yaml config lacks " + key);
        }
    }

    @Test
    void alertRulesPassPromtoolCheckAndTheirUnitTests(@TempDir Path tmp) throws Exception {
        assertTrue(Files.isExecutable(PROMTOOL), "promtool is missing (apt-get install prometheus)");
        List<Chart.Doc> docs = Chart.docs(Chart.template(Map.of("prometheusRule.enabled", true)));
        Chart.Doc rule = docs.stream().filter(d -> d.source().equals("prometheusrule.yaml")).findFirst().orElseThrow();
        JsonNode spec = YAML.readTree(rule.yaml()).get("spec");
        Path rules = tmp.resolve("berth-alerts.yaml");
        YAML.writeValue(rules.toFile(), spec);
        Path tests = tmp.resolve("alerts_test.yaml");
        Files.copy(Chart.HOME.resolve("helm/tests/alerts_test.yaml"), tests);
        Set<String> alerts = new TreeSet<>();
        spec.at("/groups/0/rules").forEach(r -> alerts.add(r.get("alert").asText()));
        assertEquals(Set.of("BerthImagePullsFailing", "BerthContainerOOMKilled", "BerthRunPodSandboxSlow",
                "BerthRunPodSandboxFailing", "BerthRuntimeNotReady", "BerthMetricsDown"), alerts);

        String check = promtool(tmp, "check", "rules", rules.toString());
        assertTrue(check.contains("SUCCESS: 6 rules found"), check);
        String test = promtool(tmp, "test", "rules", tests.toString());
        assertTrue(test.contains("SUCCESS"), test);
        String testFile = Files.readString(tests);
        for (String a : alerts) {
            assertTrue(testFile.contains("alertname: " + a), "no unit test fires " + a);
        }
    }

    static String promtool(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PROMTOOL.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    /** Parses every document into fabric8's model: typed (or an operator kind), no unknown field. */
    static List<HasMetadata> parseAll(String rendered) {
        List<HasMetadata> out = new ArrayList<>();
        for (Chart.Doc d : Chart.docs(rendered)) {
            HasMetadata h;
            Class<? extends HasMetadata> operatorKind = OPERATOR_KINDS.get(kindOf(d));
            if (operatorKind != null) {
                h = strictlyParsed(d, operatorKind);
                assertEquals("monitoring.coreos.com/v1", h.getApiVersion(), d.source());
            } else {
                Object o = SERIALIZATION.unmarshal(d.yaml());
                h = assertInstanceOf(HasMetadata.class, o, d.source());
            }
            assertFalse(h instanceof GenericKubernetesResource, d.source() + ": " + h.getApiVersion() + " "
                    + h.getKind() + " has no fabric8 model");
            List<String> unknown = new ArrayList<>();
            unknownFields(h, h.getKind(), unknown);
            assertEquals(List.of(), unknown, d.source() + ": fields fabric8's model does not know");
            assertTrue(h.getMetadata().getLabels().containsKey("app.kubernetes.io/part-of"), d.source());
            out.add(h);
        }
        return out;
    }

    static String kindOf(Chart.Doc d) {
        try {
            return YAML.readTree(d.yaml()).path("kind").asText();
        } catch (java.io.IOException e) {
            throw new AssertionError(d.source() + ": not YAML", e);
        }
    }

    /**
     * An operator kind read into its model class with unknown properties failing, naming the field. The
     * monitoring model (7.7.0) is annotated for Jackson 2, which fabric8 8's Jackson 3 serialization does not
     * read, so Jackson 2 reads it, as the model was generated for.
     */
    static <T extends HasMetadata> T strictlyParsed(Chart.Doc d, Class<T> type) {
        try {
            return STRICT.readValue(d.yaml(), type);
        } catch (java.io.IOException e) {
            throw new AssertionError(d.source() + ": " + type.getSimpleName() + " does not parse strictly: "
                    + e.getMessage(), e);
        }
    }

    /** Walks a model object's getters; any non-empty additionalProperties is a field the model lacks. */
    static void unknownFields(Object o, String path, List<String> unknown) {
        if (o == null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                unknownFields(e, path + "[" + i++ + "]", unknown);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> unknownFields(v, path + "." + k, unknown));
            return;
        }
        if (!o.getClass().getPackageName().startsWith("io.fabric8.kubernetes.api.model")
                && !o.getClass().getPackageName().startsWith("io.fabric8.openshift.api.model")) {
            return;
        }
        for (Method g : o.getClass().getMethods()) {
            if (g.getParameterCount() != 0 || Modifier.isStatic(g.getModifiers()) || !g.getName().startsWith("get")
                    || g.getDeclaringClass() == Object.class) {
                continue;
            }
            Object v;
            try {
                v = g.invoke(o);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
            if (g.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    unknown.add(path + ": " + extra.keySet());
                }
            } else {
                unknownFields(v, path + "." + g.getName().substring(3), unknown);
            }
        }
    }

    static Set<String> kinds(List<HasMetadata> objects) {
        return objects.stream().map(HasMetadata::getKind).collect(Collectors.toCollection(TreeSet::new));
    }

    static <T> List<T> of(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }
}
