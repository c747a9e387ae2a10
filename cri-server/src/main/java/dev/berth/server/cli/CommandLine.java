package dev.berth.server.cli;

import dev.berth.server.BerthVersion;
import dev.berth.server.config.ConfigException;
import dev.berth.server.config.ConfigLoader;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * berth's command line. Everything but starting the daemon (help, version, the default config,
 * checking a config file) is answered here and exits, before Quarkus or any host check runs.
 */
public final class CommandLine {
    public static final int EXIT_OK = 0;
    /** Bad usage or a bad config file, as for the daemon's own start. */
    public static final int EXIT_USAGE = 2;

    public static final String USAGE = """
            usage: berth [--help | --version]
                   berth config default        print the default /etc/berth/config.yaml, every key commented
                   berth config check [FILE]   check FILE (default: $BERTH_CONFIG or /etc/berth/config.yaml
                                               with the BERTH_* environment); exit 2 listing every error
                   berth                       run the daemon (CRI v1 on the configured socket)
            """;

    /** What the arguments ask for. */
    public sealed interface Command {}

    public record Serve() implements Command {}

    public record Help() implements Command {}

    public record Version() implements Command {}

    public record ConfigDefault() implements Command {}

    /** {@code file} empty: the file and environment the daemon would read. */
    public record ConfigCheck(Optional<Path> file) implements Command {}

    public record Usage(String error) implements Command {}

    private CommandLine() {}

    public static Command parse(String... args) {
        List<String> a = List.of(args);
        if (a.isEmpty()) {
            return new Serve();
        }
        return switch (a.get(0)) {
            case "-h", "--help", "help" -> a.size() == 1 ? new Help() : new Usage("--help takes no arguments");
            case "-v", "--version", "version" -> a.size() == 1 ? new Version()
                    : new Usage("--version takes no arguments");
            // the spelling earlier versions and ./berth default-config used
            case "--print-default-config" -> a.size() == 1 ? new ConfigDefault() : new Usage("too many arguments");
            case "config" -> config(a.subList(1, a.size()));
            default -> new Usage((a.get(0).startsWith("-") ? "unknown option " : "unknown command ") + a.get(0));
        };
    }

    private static Command config(List<String> a) {
        if (a.isEmpty()) {
            return new Usage("config needs a subcommand: default or check");
        }
        return switch (a.get(0)) {
            case "default" -> a.size() == 1 ? new ConfigDefault() : new Usage("config default takes no arguments");
            case "check" -> switch (a.size()) {
                case 1 -> new ConfigCheck(Optional.empty());
                case 2 -> a.get(1).startsWith("-") ? new Usage("unknown option " + a.get(1))
                        : new ConfigCheck(Optional.of(Path.of(a.get(1))));
                default -> new Usage("config check takes at most one FILE");
            };
            default -> new Usage("unknown config subcommand " + a.get(0));
        };
    }

    /** Runs a command other than {@link Serve}; returns the exit status. */
    public static int run(Command command, Map<String, String> env, PrintStream out, PrintStream err) {
        return switch (command) {
            case Help h -> {
                out.print("berth " + BerthVersion.VERSION + ": a Kubernetes container runtime (CRI v1)\n\n" + USAGE);
                yield EXIT_OK;
            }
            case Version v -> {
                out.println("berth " + BerthVersion.VERSION);
                yield EXIT_OK;
            }
            case ConfigDefault d -> {
                out.print(ConfigLoader.renderDefaults());
                yield EXIT_OK;
            }
            case ConfigCheck c -> check(c, env, out, err);
            case Usage u -> {
                err.print("berth: " + u.error() + "\n" + USAGE);
                yield EXIT_USAGE;
            }
            case Serve s -> throw new IllegalArgumentException("serving is the daemon's, not the command line's");
        };
    }

    private static int check(ConfigCheck c, Map<String, String> env, PrintStream out, PrintStream err) {
        try {
            // a named file alone (what it says, not the environment of whoever checks it); else what
            // the daemon would read
            var config = c.file().isPresent() ? ConfigLoader.load(c.file().get(), true, Map.of())
                    : ConfigLoader.load(env);
            out.println(config.file() + ": ok");
            return EXIT_OK;
        } catch (ConfigException e) {
            for (String p : e.problems()) {
                err.println("berth: " + p);
            }
            return EXIT_USAGE;
        }
    }
}
