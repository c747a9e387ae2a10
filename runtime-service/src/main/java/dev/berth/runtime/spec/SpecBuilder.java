package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Turns a CRI ContainerConfig (with its pod and image) into an OCI runtime spec. Each concern has
 * its own builder; they run in an order where later ones may rely on earlier ones (security reads
 * the capabilities the process builder left, resources the devices the mount builder added).
 */
public final class SpecBuilder {
    public static final ObjectMapper JSON = new ObjectMapper();

    private SpecBuilder() {}

    public static ObjectNode build(SpecContext ctx) {
        ObjectNode spec = JSON.createObjectNode();
        spec.put("ociVersion", "1.0.2");
        ObjectNode root = spec.putObject("root");
        root.put("path", ctx.rootfs().toString());
        root.put("readonly", ctx.security().getReadonlyRootfs());
        spec.putObject("annotations");
        ctx.config().getAnnotationsMap().forEach(((ObjectNode) spec.get("annotations"))::put);
        ObjectNode linux = spec.putObject("linux");
        linux.put("cgroupsPath", ctx.cgroupsPath());
        ProcessSpec.apply(spec, ctx);
        UserSpec.apply(spec, ctx);
        MountSpec.apply(spec, ctx);
        NamespaceSpec.apply(spec, ctx);
        UserNamespaceSpec.apply(spec, ctx);
        SecuritySpec.apply(spec, ctx);
        ResourceSpec.apply(spec, ctx);
        return spec;
    }
}
