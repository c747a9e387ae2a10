package dev.berth.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ProcStatusTest {
    private static final String STATUS = """
            Name:\tjava
            Umask:\t0022
            State:\tS (sleeping)
            Uid:\t0\t0\t0\t0
            VmRSS:\t   81234 kB
            Threads:\t27
            CapEff:\t000001fffeffffff
            CapBnd:\t000001ffffffffff
            """;

    @Test
    void fieldsByKindFromTheKernelsText() {
        ProcStatus s = ProcStatus.parse(STATUS);
        assertEquals(OptionalLong.of(81234L << 10), s.bytes("VmRSS"));
        assertEquals(OptionalLong.of(81234), s.number("VmRSS"));
        assertEquals(OptionalLong.of(27), s.number("Threads"));
        assertEquals(OptionalLong.of(0), s.number("Uid"), "the first of several figures");
        assertEquals(OptionalLong.of(0x1fffeffffffL), s.mask("CapEff"));
        assertEquals(OptionalLong.of(0x1ffffffffffL), s.mask("CapBnd"));
        assertEquals(OptionalLong.empty(), s.bytes("VmSwap"), "a field the kernel does not report");
        assertEquals(OptionalLong.empty(), s.number("Threa"), "names match whole");
        assertThrows(NumberFormatException.class, () -> s.number("Name"));
    }

    @Test
    void thisProcess() throws Exception {
        ProcStatus self = ProcStatus.ofSelf();
        assertTrue(self.number("Threads").orElseThrow() > 1, "a JVM runs several threads");
        assertTrue(self.bytes("VmRSS").orElseThrow() > 8L << 20);
        assertEquals(OptionalLong.of(ProcessHandle.current().pid()), self.number("Pid"));
    }
}
