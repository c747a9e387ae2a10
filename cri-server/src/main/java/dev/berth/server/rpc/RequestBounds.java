package dev.berth.server.rpc;

import dev.berth.core.error.BerthException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Size bounds on what a CRI request may ask berth to keep: names, ids and label/annotation maps go
 * into the state store, into every List and Status answer and into error messages, so a 1 MiB name
 * would be carried (and its error echoed) forever. The bounds are Kubernetes' own with room to spare:
 * object names are at most 253 bytes, and labels plus annotations of an object at most 256 KiB.
 */
public final class RequestBounds {
    /** metadata name, namespace and uid; ids. Kubernetes names are at most 253 bytes. */
    public static final int MAX_NAME_BYTES = 1024;
    /** All keys and values of one labels or annotations map (Kubernetes: 256 KiB of annotations). */
    public static final int MAX_MAP_BYTES = 256 * 1024;

    private RequestBounds() {}

    /** Refuses a {@code field} longer than {@link #MAX_NAME_BYTES} (INVALID_ARGUMENT naming the field and sizes). */
    public static String name(String rpc, String field, String value) {
        int bytes = value.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_NAME_BYTES) {
            throw BerthException.invalid("%s: %s is %d bytes long; berth accepts at most %d", rpc, field, bytes,
                    MAX_NAME_BYTES);
        }
        return value;
    }

    /** Refuses a labels or annotations map whose keys and values exceed {@link #MAX_MAP_BYTES} together. */
    public static void map(String rpc, String field, Map<String, String> m) {
        long bytes = 0;
        for (Map.Entry<String, String> e : m.entrySet()) {
            bytes += e.getKey().getBytes(StandardCharsets.UTF_8).length + e.getValue().getBytes(StandardCharsets.UTF_8).length;
        }
        if (bytes > MAX_MAP_BYTES) {
            throw BerthException.invalid("%s: %s hold %d bytes of keys and values; berth accepts at most %d", rpc, field,
                    bytes, MAX_MAP_BYTES);
        }
    }
}
