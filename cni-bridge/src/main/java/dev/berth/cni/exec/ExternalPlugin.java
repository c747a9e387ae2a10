package dev.berth.cni.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.linux.host.HostCommands;
import dev.berth.linux.net.NetCommand;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A plugin executable run per the CNI spec: config on stdin, CNI_* in the environment, result on stdout. */
public final class ExternalPlugin implements CniPlugin {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final String type;
    private final Path executable;
    private final HostCommands commands;

    public ExternalPlugin(String type, Path executable, HostCommands commands) {
        this.type = type;
        this.executable = executable;
        this.commands = commands;
    }

    @Override
    public JsonNode invoke(ObjectNode conf, PluginInvocation inv) {
        byte[] stdin;
        try {
            stdin = JSON.writeValueAsBytes(conf);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        NetCommand.Result r = commands.run(List.of(executable.toString()), inv.environment(), stdin, TIMEOUT);
        String out = r.stdout().strip();
        if (!r.ok()) {
            try {
                JsonNode err = JSON.readTree(out);
                throw new CniPluginException(type, inv.command(), err.path("code").asInt(r.exitCode()),
                        err.path("msg").asText(r.stderr().strip()), err.path("details").asText(""));
            } catch (CniPluginException e) {
                throw e;
            } catch (Exception notJson) {
                throw new CniPluginException(type, inv.command(), r.exitCode(),
                        (out + " " + r.stderr()).strip(), null);
            }
        }
        if (out.isEmpty()) {
            return null;
        }
        try {
            return JSON.readTree(out.getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new CniPluginException(type, inv.command(), 999, "result is not JSON: " + out, null);
        }
    }
}
