package dev.berth.conformance.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.conformance.harness.BerthDaemon;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.CgroupDriver;
import runtime.v1.CheckpointPodRequest;
import runtime.v1.RuntimeCondition;
import runtime.v1.RuntimeConfigRequest;
import runtime.v1.StatusRequest;
import runtime.v1.StatusResponse;
import runtime.v1.UpdateRuntimeConfigRequest;
import runtime.v1.VersionRequest;
import runtime.v1.VersionResponse;

/** The daemon as a process: socket, Version/Status/RuntimeConfig, metrics and health over HTTP. */
class DaemonFoundationTest {
    static BerthDaemon daemon;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws IOException {
        daemon = BerthDaemon.start();
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void versionNamesBerthAndCriV1() {
        VersionResponse v = daemon.client().runtime().version(VersionRequest.newBuilder().setVersion("0.1.0").build());
        assertEquals("berth", v.getRuntimeName());
        assertEquals("v1", v.getRuntimeApiVersion());
        assertEquals("0.1.0", v.getVersion());
        assertTrue(v.getRuntimeVersion().matches("\\d+\\.\\d+\\.\\d+.*"), v.getRuntimeVersion());
    }

    @Test
    void socketIsGroupOnly() throws IOException {
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(daemon.socket())));
    }

    @Test
    void statusReportsBothConditionsTruthfully() throws Exception {
        StatusResponse s = daemon.client().runtime().status(StatusRequest.newBuilder().setVerbose(true).build());
        Map<String, RuntimeCondition> byType = new HashMap<>();
        s.getStatus().getConditionsList().forEach(c -> byType.put(c.getType(), c));
        RuntimeCondition runtime = byType.get("RuntimeReady");
        RuntimeCondition network = byType.get("NetworkReady");
        assertNotNull(runtime);
        assertNotNull(network);
        // The harness mounts cgroup2 at /sys/fs/cgroup and runc + conmon are installed.
        assertTrue(runtime.getStatus(), runtime.getMessage());
        if (!network.getStatus()) {
            assertFalse(network.getReason().isEmpty());
            assertFalse(network.getMessage().isEmpty());
        }
        JsonNode tools = new ObjectMapper().readTree(s.getInfoOrThrow("tools"));
        assertTrue(tools.get("runc").asText().startsWith("runc version"), tools.toString());
        assertTrue(tools.get("conmon").asText().contains("conmon"), tools.toString());
        JsonNode config = new ObjectMapper().readTree(s.getInfoOrThrow("config"));
        assertEquals(daemon.socket().toString(), config.get("socket").asText());
        assertTrue(s.getRuntimeHandlersList().stream().anyMatch(h -> h.getName().equals("runc")));
    }

    /**
     * The features critest and kubelet read: recursive read-only mounts per handler ("" is the
     * default; Debian's runc 1.1 and crun 1.8 know rro, this kernel has mount_setattr) and
     * SupplementalGroupsPolicy runtime-wide. Without them the matching tests skip, so they are
     * pinned here.
     */
    @Test
    void statusReportsHandlerAndRuntimeFeatures() {
        StatusResponse s = daemon.client().runtime().status(StatusRequest.getDefaultInstance());
        Map<String, Boolean> rro = new HashMap<>();
        s.getRuntimeHandlersList().forEach(h -> rro.put(h.getName(), h.getFeatures().getRecursiveReadOnlyMounts()));
        assertEquals(Map.of("", true, "runc", true, "crun", true), rro);
        assertTrue(s.getFeatures().getSupplementalGroupsPolicy());
    }

    @Test
    void runtimeConfigReportsCgroupfs() {
        assertEquals(CgroupDriver.CGROUPFS,
                daemon.client().runtime().runtimeConfig(RuntimeConfigRequest.getDefaultInstance())
                        .getLinux().getCgroupDriver());
    }

    @Test
    void unknownRpcAnswersUnimplementedNamingIt() {
        // every CRI v1 RPC is served: a method of a newer CRI than berth's is what stays unimplemented
        var method = io.grpc.MethodDescriptor.<VersionRequest, runtime.v1.VersionResponse>newBuilder()
                .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
                .setFullMethodName("runtime.v1.RuntimeService/SomeFutureRpc")
                .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(VersionRequest.getDefaultInstance()))
                .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                        runtime.v1.VersionResponse.getDefaultInstance()))
                .build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> io.grpc.stub.ClientCalls
                .blockingUnaryCall(daemon.client().channel(), method, io.grpc.CallOptions.DEFAULT,
                        VersionRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("SomeFutureRpc"), e.getStatus().getDescription());
    }

    @Test
    void badInputGetsInvalidArgument() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> daemon.client().runtime()
                .updateRuntimeConfig(UpdateRuntimeConfigRequest.newBuilder()
                        .setRuntimeConfig(runtime.v1.RuntimeConfig.newBuilder()
                                .setNetworkConfig(runtime.v1.NetworkConfig.newBuilder().setPodCidr("not-a-cidr")))
                        .build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("not-a-cidr"));
    }

    @Test
    void metricsCountRequestsAndErrorsByCode() throws Exception {
        double before = metric(scrape(), "berth_cri_requests_seconds_count", "Version", "OK");
        for (int i = 0; i < 3; i++) {
            daemon.client().runtime().version(VersionRequest.getDefaultInstance());
        }
        assertThrows(StatusRuntimeException.class, () -> daemon.client().runtime()
                .checkpointPod(CheckpointPodRequest.getDefaultInstance()));
        String text = scrape();
        assertEquals(before + 3, metric(text, "berth_cri_requests_seconds_count", "Version", "OK"));
        assertTrue(metric(text, "berth_cri_errors_total", "CheckpointPod", "INVALID_ARGUMENT") >= 1);
        assertTrue(text.contains("berth_cri_requests_seconds_bucket{"), "latency histogram buckets exported");
    }

    @Test
    void healthEndpointsAreUp() throws Exception {
        for (String path : new String[] {"/q/health/live", "/q/health/ready"}) {
            HttpResponse<String> r = get(path);
            assertEquals(200, r.statusCode(), path + ": " + r.body());
            assertEquals("UP", new ObjectMapper().readTree(r.body()).get("status").asText());
        }
    }

    static String scrape() throws Exception {
        HttpResponse<String> r = get("/metrics");
        assertEquals(200, r.statusCode());
        return r.body();
    }

    static HttpResponse<String> get(String path) throws Exception {
        return fetch(daemon, path);
    }

    static HttpResponse<String> fetch(BerthDaemon d, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(d.httpUrl(path))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static int status(BerthDaemon d, String path) throws Exception {
        return fetch(d, path).statusCode();
    }

    /** The value of one Prometheus sample with the given method and code labels, 0 if absent. */
    static double metric(String text, String name, String method, String code) {
        Pattern p = Pattern.compile("^" + name + "\\{([^}]*)\\} (\\S+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(text);
        while (m.find()) {
            String labels = m.group(1);
            if (labels.contains("method=\"" + method + "\"") && labels.contains("code=\"" + code + "\"")) {
                return Double.parseDouble(m.group(2));
            }
        }
        return 0;
    }
}
