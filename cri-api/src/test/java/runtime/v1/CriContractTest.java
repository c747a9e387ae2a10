package runtime.v1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.protobuf.Descriptors;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Pins berth's proto to the upstream CRI v1 wire contract. The expected values below were written
 * down from kubernetes/cri-api pkg/apis/runtime/v1/api.proto; a renamed method or a renumbered field
 * here would break kubelet, so this test must never be "fixed" by editing the expectations alone.
 */
class CriContractTest {
    static final List<String> RUNTIME_METHODS = List.of(
            "runtime.v1.RuntimeService/Version",
            "runtime.v1.RuntimeService/RunPodSandbox",
            "runtime.v1.RuntimeService/StopPodSandbox",
            "runtime.v1.RuntimeService/RemovePodSandbox",
            "runtime.v1.RuntimeService/PodSandboxStatus",
            "runtime.v1.RuntimeService/ListPodSandbox",
            "runtime.v1.RuntimeService/StreamPodSandboxes",
            "runtime.v1.RuntimeService/CreateContainer",
            "runtime.v1.RuntimeService/StartContainer",
            "runtime.v1.RuntimeService/StopContainer",
            "runtime.v1.RuntimeService/RemoveContainer",
            "runtime.v1.RuntimeService/ListContainers",
            "runtime.v1.RuntimeService/StreamContainers",
            "runtime.v1.RuntimeService/ContainerStatus",
            "runtime.v1.RuntimeService/UpdateContainerResources",
            "runtime.v1.RuntimeService/ReopenContainerLog",
            "runtime.v1.RuntimeService/ExecSync",
            "runtime.v1.RuntimeService/Exec",
            "runtime.v1.RuntimeService/Attach",
            "runtime.v1.RuntimeService/PortForward",
            "runtime.v1.RuntimeService/ContainerStats",
            "runtime.v1.RuntimeService/ListContainerStats",
            "runtime.v1.RuntimeService/StreamContainerStats",
            "runtime.v1.RuntimeService/PodSandboxStats",
            "runtime.v1.RuntimeService/ListPodSandboxStats",
            "runtime.v1.RuntimeService/StreamPodSandboxStats",
            "runtime.v1.RuntimeService/UpdateRuntimeConfig",
            "runtime.v1.RuntimeService/Status",
            "runtime.v1.RuntimeService/CheckpointContainer",
            "runtime.v1.RuntimeService/CheckpointPod",
            "runtime.v1.RuntimeService/RestorePod",
            "runtime.v1.RuntimeService/GetContainerEvents",
            "runtime.v1.RuntimeService/ListMetricDescriptors",
            "runtime.v1.RuntimeService/ListPodSandboxMetrics",
            "runtime.v1.RuntimeService/StreamPodSandboxMetrics",
            "runtime.v1.RuntimeService/RuntimeConfig",
            "runtime.v1.RuntimeService/UpdatePodSandboxResources");

    static final List<String> IMAGE_METHODS = List.of(
            "runtime.v1.ImageService/ListImages",
            "runtime.v1.ImageService/StreamImages",
            "runtime.v1.ImageService/ImageStatus",
            "runtime.v1.ImageService/PullImage",
            "runtime.v1.ImageService/RemoveImage",
            "runtime.v1.ImageService/ImageFsInfo");

    /** message -> field name -> number, for the messages kubelet uses most. */
    static final Map<String, Map<String, Integer>> FIELDS = Map.ofEntries(
            Map.entry("PodSandboxConfig", Map.ofEntries(Map.entry("metadata", 1), Map.entry("hostname", 2), Map.entry("log_directory", 3), Map.entry("dns_config", 4), Map.entry("port_mappings", 5), Map.entry("labels", 6), Map.entry("annotations", 7), Map.entry("linux", 8), Map.entry("windows", 9))),
            Map.entry("ContainerConfig", Map.ofEntries(Map.entry("metadata", 1), Map.entry("image", 2), Map.entry("command", 3), Map.entry("args", 4), Map.entry("working_dir", 5), Map.entry("envs", 6), Map.entry("mounts", 7), Map.entry("devices", 8), Map.entry("labels", 9), Map.entry("annotations", 10), Map.entry("log_path", 11), Map.entry("stdin", 12), Map.entry("stdin_once", 13), Map.entry("tty", 14), Map.entry("linux", 15), Map.entry("windows", 16), Map.entry("CDI_devices", 17), Map.entry("stop_signal", 18))),
            Map.entry("PullImageRequest", Map.ofEntries(Map.entry("image", 1), Map.entry("auth", 2), Map.entry("sandbox_config", 3))),
            Map.entry("PullImageResponse", Map.ofEntries(Map.entry("image_ref", 1))),
            Map.entry("PodSandboxStatus", Map.ofEntries(Map.entry("id", 1), Map.entry("metadata", 2), Map.entry("state", 3), Map.entry("created_at", 4), Map.entry("network", 5), Map.entry("linux", 6), Map.entry("labels", 7), Map.entry("annotations", 8), Map.entry("runtime_handler", 9))),
            Map.entry("ContainerStatus", Map.ofEntries(Map.entry("id", 1), Map.entry("metadata", 2), Map.entry("state", 3), Map.entry("created_at", 4), Map.entry("started_at", 5), Map.entry("finished_at", 6), Map.entry("exit_code", 7), Map.entry("image", 8), Map.entry("image_ref", 9), Map.entry("reason", 10), Map.entry("message", 11), Map.entry("labels", 12), Map.entry("annotations", 13), Map.entry("mounts", 14), Map.entry("log_path", 15), Map.entry("resources", 16), Map.entry("image_id", 17), Map.entry("user", 18), Map.entry("stop_signal", 19))),
            Map.entry("LinuxContainerResources", Map.ofEntries(Map.entry("cpu_period", 1), Map.entry("cpu_quota", 2), Map.entry("cpu_shares", 3), Map.entry("memory_limit_in_bytes", 4), Map.entry("oom_score_adj", 5), Map.entry("cpuset_cpus", 6), Map.entry("cpuset_mems", 7), Map.entry("hugepage_limits", 8), Map.entry("unified", 9), Map.entry("memory_swap_limit_in_bytes", 10))),
            Map.entry("LinuxContainerSecurityContext", Map.ofEntries(Map.entry("capabilities", 1), Map.entry("privileged", 2), Map.entry("namespace_options", 3), Map.entry("selinux_options", 4), Map.entry("run_as_user", 5), Map.entry("run_as_group", 12), Map.entry("run_as_username", 6), Map.entry("readonly_rootfs", 7), Map.entry("supplemental_groups", 8), Map.entry("supplemental_groups_policy", 17), Map.entry("no_new_privs", 11), Map.entry("masked_paths", 13), Map.entry("readonly_paths", 14), Map.entry("seccomp", 15), Map.entry("apparmor", 16), Map.entry("apparmor_profile", 9), Map.entry("seccomp_profile_path", 10))),
            Map.entry("LinuxPodSandboxConfig", Map.ofEntries(Map.entry("cgroup_parent", 1), Map.entry("security_context", 2), Map.entry("sysctls", 3), Map.entry("overhead", 4), Map.entry("resources", 5))),
            Map.entry("RunPodSandboxRequest", Map.ofEntries(Map.entry("config", 1), Map.entry("runtime_handler", 2))),
            Map.entry("CreateContainerRequest", Map.ofEntries(Map.entry("pod_sandbox_id", 1), Map.entry("config", 2), Map.entry("sandbox_config", 3))),
            Map.entry("ExecSyncRequest", Map.ofEntries(Map.entry("container_id", 1), Map.entry("cmd", 2), Map.entry("timeout", 3))),
            Map.entry("ExecSyncResponse", Map.ofEntries(Map.entry("stdout", 1), Map.entry("stderr", 2), Map.entry("exit_code", 3))),
            Map.entry("ImageSpec", Map.ofEntries(Map.entry("image", 1), Map.entry("annotations", 2), Map.entry("user_specified_image", 18), Map.entry("runtime_handler", 19), Map.entry("image_ref", 20))),
            Map.entry("Image", Map.ofEntries(Map.entry("id", 1), Map.entry("repo_tags", 2), Map.entry("repo_digests", 3), Map.entry("size", 4), Map.entry("uid", 5), Map.entry("username", 6), Map.entry("spec", 7), Map.entry("pinned", 8))),
            Map.entry("Mount", Map.ofEntries(Map.entry("container_path", 1), Map.entry("host_path", 2), Map.entry("readonly", 3), Map.entry("selinux_relabel", 4), Map.entry("propagation", 5), Map.entry("uidMappings", 6), Map.entry("gidMappings", 7), Map.entry("recursive_read_only", 8), Map.entry("image", 9), Map.entry("image_sub_path", 10), Map.entry("mount_options", 11))),
            Map.entry("PortMapping", Map.ofEntries(Map.entry("protocol", 1), Map.entry("container_port", 2), Map.entry("host_port", 3), Map.entry("host_ip", 4))),
            Map.entry("DNSConfig", Map.ofEntries(Map.entry("servers", 1), Map.entry("searches", 2), Map.entry("options", 3))),
            Map.entry("NamespaceOption", Map.ofEntries(Map.entry("network", 1), Map.entry("pid", 2), Map.entry("ipc", 3), Map.entry("target_id", 4), Map.entry("userns_options", 5))),
            Map.entry("ContainerFilter", Map.ofEntries(Map.entry("id", 1), Map.entry("state", 2), Map.entry("pod_sandbox_id", 3), Map.entry("label_selector", 4))),
            Map.entry("PodSandboxFilter", Map.ofEntries(Map.entry("id", 1), Map.entry("state", 2), Map.entry("label_selector", 3))),
            Map.entry("AuthConfig", Map.ofEntries(Map.entry("username", 1), Map.entry("password", 2), Map.entry("auth", 3), Map.entry("server_address", 4), Map.entry("identity_token", 5), Map.entry("registry_token", 6))),
            Map.entry("StopContainerRequest", Map.ofEntries(Map.entry("container_id", 1), Map.entry("timeout", 2))),
            Map.entry("ContainerStatusResponse", Map.ofEntries(Map.entry("status", 1), Map.entry("info", 2))),
            Map.entry("PodSandboxStatusResponse", Map.ofEntries(Map.entry("status", 1), Map.entry("info", 2), Map.entry("containers_statuses", 3), Map.entry("timestamp", 4))),
            Map.entry("ListContainersRequest", Map.ofEntries(Map.entry("filter", 1))),
            Map.entry("VersionResponse", Map.ofEntries(Map.entry("version", 1), Map.entry("runtime_name", 2), Map.entry("runtime_version", 3), Map.entry("runtime_api_version", 4))),
            Map.entry("StatusResponse", Map.ofEntries(Map.entry("status", 1), Map.entry("info", 2), Map.entry("runtime_handlers", 3), Map.entry("features", 4))),
            Map.entry("RuntimeCondition", Map.ofEntries(Map.entry("type", 1), Map.entry("status", 2), Map.entry("reason", 3), Map.entry("message", 4))),
            Map.entry("FilesystemUsage", Map.ofEntries(Map.entry("timestamp", 1), Map.entry("fs_id", 2), Map.entry("used_bytes", 3), Map.entry("inodes_used", 4))),
            Map.entry("ImageFsInfoResponse", Map.ofEntries(Map.entry("image_filesystems", 1), Map.entry("container_filesystems", 2))));

    @Test
    void serviceMethodsMatchUpstream() {
        assertEquals(43, RUNTIME_METHODS.size() + IMAGE_METHODS.size());
        assertEquals(new TreeSet<>(RUNTIME_METHODS), names(RuntimeServiceGrpc.getServiceDescriptor()));
        assertEquals(new TreeSet<>(IMAGE_METHODS), names(ImageServiceGrpc.getServiceDescriptor()));
    }

    @Test
    void fieldNumbersMatchUpstream() {
        Descriptors.FileDescriptor file = Api.getDescriptor();
        assertEquals("runtime.v1", file.getPackage());
        FIELDS.forEach((message, fields) -> {
            Descriptors.Descriptor d = file.findMessageTypeByName(message);
            assertNotNull(d, "message " + message);
            assertEquals(fields.size(), d.getFields().size(), "field count of " + message);
            fields.forEach((name, number) -> {
                Descriptors.FieldDescriptor f = d.findFieldByName(name);
                assertNotNull(f, message + "." + name);
                assertEquals(number, f.getNumber(), message + "." + name);
            });
        });
    }

    private static Set<String> names(io.grpc.ServiceDescriptor service) {
        return service.getMethods().stream()
                .map(io.grpc.MethodDescriptor::getFullMethodName)
                .collect(Collectors.toCollection(TreeSet::new));
    }
}
