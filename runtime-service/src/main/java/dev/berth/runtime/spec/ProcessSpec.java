package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import dev.berth.image.LocalImage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import runtime.v1.ContainerConfig;
import runtime.v1.KeyValue;

/** process: command line (Kubernetes' command/args over the image's Entrypoint/Cmd), env, cwd, tty. */
public final class ProcessSpec {
    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private ProcessSpec() {}

    static void apply(ObjectNode spec, SpecContext ctx) {
        ContainerConfig c = ctx.config();
        LocalImage.Config img = ctx.image().config();
        ObjectNode p = spec.putObject("process");
        p.put("terminal", c.getTty());
        ArrayNode args = p.putArray("args");
        command(c, img).forEach(args::add);
        ArrayNode env = p.putArray("env");
        env(c, img).forEach((k, v) -> env.add(k + "=" + v));
        p.put("cwd", workingDir(c, img));
        long oom = c.getLinux().getResources().getOomScoreAdj();
        p.put("oomScoreAdj", (int) Math.max(oom, ctx.minOomScoreAdj()));
    }

    /** Kubernetes semantics: command replaces Entrypoint (and drops Cmd); args replace Cmd. */
    public static List<String> command(ContainerConfig c, LocalImage.Config img) {
        List<String> out = new ArrayList<>();
        if (!c.getCommandList().isEmpty()) {
            out.addAll(c.getCommandList());
            out.addAll(c.getArgsList());
        } else {
            if (img != null && img.entrypoint() != null) {
                out.addAll(img.entrypoint());
            }
            if (!c.getArgsList().isEmpty()) {
                out.addAll(c.getArgsList());
            } else if (img != null && img.cmd() != null) {
                out.addAll(img.cmd());
            }
        }
        if (out.isEmpty()) {
            throw BerthException.invalid("container %s has no command: neither the request (command, args) "
                    + "nor the image (Entrypoint, Cmd) gives one", c.getMetadata().getName());
        }
        return out;
    }

    /** Image env, then the request's envs (which win by name); PATH defaulted; TERM for a tty. */
    public static Map<String, String> env(ContainerConfig c, LocalImage.Config img) {
        Map<String, String> env = new LinkedHashMap<>();
        if (img != null && img.env() != null) {
            for (String e : img.env()) {
                int eq = e.indexOf('=');
                env.put(eq < 0 ? e : e.substring(0, eq), eq < 0 ? "" : e.substring(eq + 1));
            }
        }
        env.putIfAbsent("PATH", DEFAULT_PATH);
        if (c.getTty()) {
            env.putIfAbsent("TERM", "xterm");
        }
        for (KeyValue kv : c.getEnvsList()) {
            if (kv.getKey().isEmpty() || kv.getKey().contains("=")) {
                throw BerthException.invalid("environment variable name \"%s\" is empty or contains '='", kv.getKey());
            }
            env.put(kv.getKey(), kv.getValue().toStringUtf8());
        }
        return env;
    }

    static String workingDir(ContainerConfig c, LocalImage.Config img) {
        String wd = !c.getWorkingDir().isEmpty() ? c.getWorkingDir()
                : img != null && img.workingDir() != null && !img.workingDir().isEmpty() ? img.workingDir() : "/";
        if (!wd.startsWith("/")) {
            throw BerthException.invalid("working_dir \"%s\" must be an absolute path", wd);
        }
        return wd;
    }
}
