package dev.berth.linux.testing;

import dev.berth.linux.host.HostCommands;
import dev.berth.linux.net.NetCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Node programs answered by a {@link Handler} per program name; without one they exit 0 saying nothing. */
public final class FakeHostCommands implements HostCommands {
    /** What a program does and says. */
    @FunctionalInterface
    public interface Handler {
        NetCommand.Result run(List<String> argv, Map<String, String> env, byte[] stdin);
    }

    private final FakeLinuxHost host;
    private final Map<String, Handler> handlers = new LinkedHashMap<>();

    FakeHostCommands(FakeLinuxHost host) {
        this.host = host;
    }

    /** How the program named {@code name} (argv[0]'s last part) answers. */
    public FakeHostCommands handle(String name, Handler h) {
        synchronized (host) {
            handlers.put(name, h);
            return this;
        }
    }

    @Override
    public NetCommand.Result run(List<String> argv, Map<String, String> env, byte[] stdin, Duration timeout) {
        Handler h;
        synchronized (host) {
            host.record("commands.run", List.copyOf(argv), env == null ? Map.of() : Map.copyOf(env));
            h = handlers.get(Path.of(argv.get(0)).getFileName().toString());
        }
        // outside the lock: a handler may call back into the fake host
        return h == null ? new NetCommand.Result(argv, 0, "", "") : h.run(argv, env == null ? Map.of() : env, stdin);
    }
}
