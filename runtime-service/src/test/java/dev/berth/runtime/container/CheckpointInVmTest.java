package dev.berth.runtime.container;

import org.junit.jupiter.api.Test;

/**
 * Runs {@link CheckpointRestoreTest} in the cgroup v2 VM (shared/vm/run-in-vm.sh beside the
 * repository), whose kernel CRIU accepts ({@code criu check} fails on the build machines with
 * "Unexpected rt vDSO area bounds"). Like {@link CgroupV2InVmTest}: a missing VM tool or a VM that
 * cannot run fails the test; only BERTH_SKIP_VM skips it.
 */
class CheckpointInVmTest {
    @Test
    void checkpointRestoreRoundTripInTheVm() throws Exception {
        CgroupV2InVmTest.runInVm(CheckpointRestoreTest.class, 2, "the checkpoint round trips (container, checkpoint image, pod)");
    }
}
