package dev.berth.server;

import dev.berth.server.cli.CommandLine;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigException;
import dev.berth.server.config.ConfigLoader;
import dev.berth.server.host.HostTools;
import dev.berth.server.logging.LogFormat;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * Entry point. Commands other than serving (help, version, config default/check) answer and exit
 * before anything starts ({@link CommandLine}). Configuration and required host tools are checked before Quarkus starts, so a bad
 * config file or a missing runc ends the process with one line saying what to fix (exit 2 for
 * configuration, 3 for a missing dependency) instead of a stack trace.
 */
@QuarkusMain
public class BerthMain implements QuarkusApplication {
    public static final int EXIT_CONFIG = 2;
    public static final int EXIT_MISSING_DEPENDENCY = 3;

    private static volatile BerthConfig config;
    private static volatile HostTools tools;

    public static void main(String... args) {
        CommandLine.Command command = CommandLine.parse(args);
        if (!(command instanceof CommandLine.Serve)) {
            System.exit(CommandLine.run(command, System.getenv(), System.out, System.err));
        }
        try {
            config = ConfigLoader.load(System.getenv());
        } catch (ConfigException e) {
            e.problems().forEach(p -> System.err.println("berth: " + p));
            System.exit(EXIT_CONFIG);
        }
        tools = HostTools.probe(config);
        if (!tools.missingRequired().isEmpty()) {
            System.err.println("berth: " + String.join("; ", tools.missingRequired()));
            System.exit(EXIT_MISSING_DEPENDENCY);
        }
        System.setProperty("quarkus.http.host", config.httpHost());
        System.setProperty("quarkus.http.port", Integer.toString(config.httpPort()));
        System.setProperty("quarkus.log.level", config.logLevel());
        System.setProperty("quarkus.log.console.format", LogFormat.consolePattern(System.getenv()));
        Quarkus.run(BerthMain.class, args);
    }

    @Override
    public int run(String... args) {
        Quarkus.waitForExit();
        return 0;
    }

    /** The configuration loaded by {@link #main}; the CDI producers hand it out. */
    public static BerthConfig config() {
        return config;
    }

    public static HostTools tools() {
        return tools;
    }
}
