package dev.berth.server.rpc.interceptor;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.List;

/**
 * The ids a CRI request names, for the one log line of a failed call: every string field ending in
 * {@code _id} (pod_sandbox_id, container_id, ...), the image of an ImageSpec, and a pod's or
 * container's metadata name, namespace and uid. Found through protobuf reflection, a few levels deep.
 */
final class RequestIds {
    private static final int MAX_DEPTH = 3;

    private RequestIds() {}

    static String of(Object request) {
        if (!(request instanceof Message m)) {
            return "";
        }
        List<String> out = new ArrayList<>();
        collect(m, "", 0, out);
        return String.join(" ", out);
    }

    private static void collect(Message m, String prefix, int depth, List<String> out) {
        String type = m.getDescriptorForType().getName();
        for (var e : m.getAllFields().entrySet()) {
            FieldDescriptor f = e.getKey();
            Object v = e.getValue();
            String name = f.getName();
            if (f.isRepeated() || f.isMapField()) {
                continue;
            }
            if (f.getJavaType() == FieldDescriptor.JavaType.STRING) {
                boolean id = name.endsWith("_id") || type.equals("ImageSpec") && name.equals("image")
                        || (type.equals("PodSandboxMetadata") || type.equals("ContainerMetadata"))
                        && (name.equals("name") || name.equals("namespace") || name.equals("uid"));
                if (id && !((String) v).isEmpty()) {
                    out.add(prefix + name + "=" + v);
                }
            } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && depth < MAX_DEPTH) {
                collect((Message) v, prefix + name + ".", depth + 1, out);
            }
        }
    }
}
