package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-container lock map keeps only containers someone is working on (no root needed). */
class ContainerLocksTest {
    @TempDir
    Path tmp;

    @Test
    void statusStopAndRemoveOfRandomIdsLeaveNoLocks() {
        try (StateStore store = StateStore.open(tmp.resolve("state"))) {
            ContainerService service = TestFixtures.service(tmp, store,
                    new CgroupManager(tmp.resolve("cgroup"), new CgroupfsDriver(), false), new TestFixtures.Images(),
                    new TestFixtures.Pods(), Map.of("runc", TestFixtures.RUNC));
            Random random = new Random(12);
            byte[] b = new byte[32];
            for (int i = 0; i < 10_000; i++) {
                random.nextBytes(b);
                String id = HexFormat.of().formatHex(b);
                BerthException e = assertThrows(BerthException.class, () -> service.status(id));
                assertEquals(ErrorKind.NOT_FOUND, e.kind());
                service.stop(id, 0);
                service.remove(id);
            }
            assertEquals(0, service.lockedContainers(), "locks of containers that do not exist are kept");
        }
    }
}
