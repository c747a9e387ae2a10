package dev.berth.conformance.wholecri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import runtime.v1.HugepageLimit;
import runtime.v1.LinuxContainerResources;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.UpdatePodSandboxResourcesRequest;

/**
 * UpdatePodSandboxResources through CRI writes the pod cgroup's files live and PodSandboxStatus
 * (verbose) reports what is in effect; bad values and controllers the host lacks are refused
 * before anything is written. Which limits can be shown depends on the controllers this host's
 * cgroup v2 has: hugetlb everywhere berth runs, memory and cpu in a pure cgroup v2 host.
 */
class PodResourcesTest {
    static WholeCriFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = WholeCriFixture.start("podres");
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    static UpdatePodSandboxResourcesRequest update(String pod, LinuxContainerResources r) {
        return UpdatePodSandboxResourcesRequest.newBuilder().setPodSandboxId(pod).setResources(r)
                .setOverhead(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(1 << 20)).build();
    }

    @Test
    void limitsGoIntoThePodCgroupLive() throws Exception {
        var pod = f.pod("limited", true, Map.of());
        try {
            f.run(pod, "worker", "sleep 3600");
            String cgroup = "/" + f.cgroupTop + "/limited";
            LinuxContainerResources.Builder r = LinuxContainerResources.newBuilder();
            if (f.hasController("hugetlb")) {
                r.addHugepageLimits(HugepageLimit.newBuilder().setPageSize("2MB").setLimit(8L << 20));
            }
            if (f.hasController("memory")) {
                r.setMemoryLimitInBytes(256L << 20);
            }
            if (f.hasController("cpu")) {
                r.setCpuQuota(50_000).setCpuPeriod(100_000).setCpuShares(512);
            }
            f.rt().updatePodSandboxResources(update(pod.id(), r.build()));
            if (f.hasController("hugetlb")) {
                assertEquals(Long.toString(8L << 20), f.cgroupFile(cgroup, "hugetlb.2MB.max"));
            }
            if (f.hasController("memory")) {
                assertEquals(Long.toString(256L << 20), f.cgroupFile(cgroup, "memory.max"));
            }
            if (f.hasController("cpu")) {
                assertEquals("50000 100000", f.cgroupFile(cgroup, "cpu.max"));
            }
            String info = f.rt().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod.id())
                    .setVerbose(true).build()).getInfoOrThrow("info");
            assertTrue(info.contains("\"resources\"") && info.contains("\"memory_limit_in_bytes\":1048576"),
                    "the overhead and resources in effect: " + info);
            if (f.hasController("hugetlb")) {
                assertTrue(info.contains("\"2MB\":" + (8L << 20)), info);
            }
            // a second update changes the file again (live, not only at creation)
            if (f.hasController("hugetlb")) {
                f.rt().updatePodSandboxResources(update(pod.id(), LinuxContainerResources.newBuilder()
                        .addHugepageLimits(HugepageLimit.newBuilder().setPageSize("2MB").setLimit(4L << 20)).build()));
                assertEquals(Long.toString(4L << 20), f.cgroupFile(cgroup, "hugetlb.2MB.max"));
            }
        } finally {
            f.removePod(pod.id());
        }
    }

    @Test
    void refusedAsUpdateContainerResourcesRefuses() throws Exception {
        var pod = f.pod("refused", true, Map.of());
        try {
            assertEquals(Status.Code.INVALID_ARGUMENT, code(update(pod.id(), LinuxContainerResources.newBuilder()
                    .setMemoryLimitInBytes(-5).build())));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(update("", LinuxContainerResources.getDefaultInstance())));
            assertEquals(Status.Code.NOT_FOUND, code(update("00ff00", LinuxContainerResources.getDefaultInstance())));
            if (!f.hasController("memory")) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> f.rt()
                        .updatePodSandboxResources(update(pod.id(), LinuxContainerResources.newBuilder()
                                .setMemoryLimitInBytes(64L << 20).build())));
                assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
                assertTrue(e.getStatus().getDescription().contains("memory"), e.getStatus().getDescription());
            }
            f.rt().stopPodSandbox(runtime.v1.StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build());
            assertEquals(Status.Code.FAILED_PRECONDITION, code(update(pod.id(),
                    LinuxContainerResources.getDefaultInstance())));
        } finally {
            f.removePod(pod.id());
        }
    }

    private static Status.Code code(UpdatePodSandboxResourcesRequest r) {
        return assertThrows(StatusRuntimeException.class, () -> f.rt().updatePodSandboxResources(r)).getStatus()
                .getCode();
    }
}
