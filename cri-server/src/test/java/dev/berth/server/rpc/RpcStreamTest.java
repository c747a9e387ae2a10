package dev.berth.server.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import runtime.v1.Container;

/** Chunks of a Stream* RPC: bounded in count and in bytes, nothing lost, order kept. */
class RpcStreamTest {
    @Test
    void chunksAreBoundedAndKeepEveryItemInOrder() {
        List<Container> items = new ArrayList<>();
        for (int i = 0; i < 450; i++) {
            items.add(Container.newBuilder().setId("c" + i).build());
        }
        List<List<Container>> chunks = RpcStream.chunks(items);
        assertEquals(List.of(200, 200, 50), chunks.stream().map(List::size).toList());
        assertEquals(items, chunks.stream().flatMap(List::stream).toList());
        assertTrue(RpcStream.chunks(List.<Container>of()).isEmpty());
    }

    @Test
    void bigItemsSplitByBytes() {
        String label = "x".repeat(300 * 1024);
        List<Container> items = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            items.add(Container.newBuilder().setId("c" + i).putLabels("big", label).build());
        }
        List<List<Container>> chunks = RpcStream.chunks(items);
        for (List<Container> c : chunks) {
            assertTrue(c.stream().mapToInt(Container::getSerializedSize).sum() <= RpcStream.MAX_BYTES);
        }
        assertEquals(7, chunks.stream().mapToInt(List::size).sum());
        assertEquals(3, chunks.get(0).size());
    }
}
