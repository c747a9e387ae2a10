package dev.berth.linux.host;

import dev.berth.linux.net.NetCommand;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Node programs run to completion: ip, iptables, CNI plugins. */
public interface HostCommands {
    /** Runs argv with stdin (may be null) and the daemon's environment plus {@code env}. */
    NetCommand.Result run(List<String> argv, Map<String, String> env, byte[] stdin, Duration timeout);

    default NetCommand.Result run(List<String> argv) {
        return run(argv, null, null, NetCommand.DEFAULT_TIMEOUT);
    }

    /** Runs argv feeding {@code stdin}; throws unless it exits 0. */
    default NetCommand.Result check(List<String> argv, String stdin) {
        return run(argv, null, stdin == null ? null : stdin.getBytes(StandardCharsets.UTF_8),
                NetCommand.DEFAULT_TIMEOUT).orThrow();
    }
}
