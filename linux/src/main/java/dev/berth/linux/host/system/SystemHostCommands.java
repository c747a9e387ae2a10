package dev.berth.linux.host.system;

import dev.berth.linux.host.HostCommands;
import dev.berth.linux.net.NetCommand;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** {@link HostCommands} through {@link NetCommand} (fork+exec, bounded by a timeout). */
final class SystemHostCommands implements HostCommands {
    @Override
    public NetCommand.Result run(List<String> argv, Map<String, String> env, byte[] stdin, Duration timeout) {
        return NetCommand.run(argv, env, stdin, timeout);
    }
}
