package dev.berth.linux.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class NetDevicesTest {
    @Test
    void parsesTheProcNetDevTable() {
        String text = """
                Inter-|   Receive                                                |  Transmit
                 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
                  eth0: 9876543   4321    3    4    0     0          0         7  1234567    765    5    6    0     0       0          0
                """;
        List<NetDevices.Counters> c = NetDevices.parse(text);
        assertEquals(2, c.size());
        assertEquals(new NetDevices.Counters("lo", 120, 2, 0, 0, 120, 2, 0, 0), c.get(0));
        assertEquals(new NetDevices.Counters("eth0", 9876543, 4321, 3, 4, 1234567, 765, 5, 6), c.get(1));
    }
}
