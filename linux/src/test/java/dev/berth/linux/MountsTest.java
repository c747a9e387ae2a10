package dev.berth.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MountsTest {
    /** mount_setattr(2) came with Linux 5.12: the probe must agree with the running kernel's version. */
    @Test
    void mountSetattrProbeMatchesKernelVersion() throws Exception {
        String release = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        String[] v = release.split("[.-]");
        int major = Integer.parseInt(v[0]);
        int minor = Integer.parseInt(v[1]);
        boolean expected = major > 5 || (major == 5 && minor >= 12);
        assertEquals(expected, Mounts.mountSetattrSupported(), "kernel " + release);
    }
}
