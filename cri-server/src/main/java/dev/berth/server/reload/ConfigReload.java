package dev.berth.server.reload;

import dev.berth.image.registry.config.RegistriesConf;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigException;
import dev.berth.server.config.ConfigKeys;
import dev.berth.server.config.ConfigLoader;
import dev.berth.server.systemd.SystemdNotifier;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * SIGHUP (systemctl reload): re-reads the configuration and applies what can change under running
 * pods: the log level, runtime handlers (added or re-pointed; a dropped one stays for the
 * containers already on it), registries.conf and the default seccomp profile (both read at each
 * use: a reload checks the new files and refuses broken ones). Anything else that changed is named
 * as needing a restart and left as it was. A bad file is refused whole: the running configuration
 * stays. A reload never stops the daemon.
 */
@ApplicationScoped
public class ConfigReload {
    private static final Logger LOG = Logger.getLogger(ConfigReload.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    BerthConfig startConfig;

    @Inject
    OciRuntimes runtimes;

    @Inject
    SystemdNotifier systemd;

    private volatile BerthConfig current;
    private Supplier<BerthConfig> source = () -> ConfigLoader.load(System.getenv());

    /** What one reload did. */
    public record Outcome(boolean applied, List<String> changes, List<String> problems) {}

    void installHandler(@Observes StartupEvent event) {
        current = startConfig;
        try {
            sun.misc.SignalHandler before = sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal ->
                    // off the JVM's signal thread: a reload runs commands (runc --version) and reads files
                    Thread.ofVirtual().name("reload").start(this::reload));
            if (before == sun.misc.SignalHandler.SIG_IGN) {
                // the JVM keeps a SIGHUP its parent ignored (nohup) ignored: no reload then
                LOG.warn("SIGHUP was ignored when berth started (nohup?): reload needs a restart; "
                        + "start berth from systemd or a shell that does not ignore SIGHUP");
            }
        } catch (IllegalArgumentException e) {
            LOG.warnf("SIGHUP cannot be handled (%s); reload needs a restart", e.getMessage());
        }
    }

    /** For tests: where the new configuration comes from. */
    void source(Supplier<BerthConfig> source, BerthConfig running) {
        this.source = source;
        this.current = running;
    }

    /** Re-reads and applies; serialised so two quick SIGHUPs do not interleave. */
    public synchronized Outcome reload() {
        systemd.send("RELOADING=1\nMONOTONIC_USEC=" + System.nanoTime() / 1000);
        try {
            Outcome o = apply();
            if (!o.applied()) {
                o.problems().forEach(p -> LOG.errorf("reload refused, the running configuration stays: %s", p));
            } else if (o.changes().isEmpty()) {
                LOG.info("reload: configuration unchanged");
            } else {
                o.changes().forEach(c -> LOG.infof("reload: %s", c));
            }
            return o;
        } catch (RuntimeException e) {
            LOG.errorf(e, "reload failed, the running configuration stays");
            return new Outcome(false, List.of(), List.of(String.valueOf(e.getMessage())));
        } finally {
            systemd.send("READY=1");
        }
    }

    private Outcome apply() {
        BerthConfig next;
        try {
            next = source.get();
        } catch (ConfigException e) {
            return new Outcome(false, List.of(), e.problems());
        }
        BerthConfig now = current;
        // check everything before changing anything
        List<String> problems = new ArrayList<>();
        try {
            RegistriesConf.load(next.registriesConf());
        } catch (RuntimeException e) {
            problems.add("image.registries_conf " + next.registriesConf() + ": " + e.getMessage());
        }
        Path seccomp = next.seccompDefaultProfile();
        if (Files.exists(seccomp)) {
            try {
                JSON.readTree(seccomp.toFile());
            } catch (Exception e) {
                problems.add("seccomp.default_profile " + seccomp + " is not valid JSON: " + e.getMessage());
            }
        }
        next.runtimes().forEach((h, bin) -> {
            if (!Files.isExecutable(bin)) {
                problems.add("runtimes." + h + ": " + bin + " is not executable");
            }
        });
        if (!next.runtimes().containsKey(runtimes.defaultHandler())) {
            problems.add("runtimes." + runtimes.defaultHandler() + " is the running default handler and must stay"
                    + " (change runtime.default_handler with a restart)");
        }
        if (!problems.isEmpty()) {
            return new Outcome(false, List.of(), problems);
        }

        List<String> changes = new ArrayList<>();
        if (!next.logLevel().equals(now.logLevel())) {
            LogLevels.set(next.logLevel());
            changes.add("log_level " + now.logLevel() + " -> " + next.logLevel());
        }
        Map<String, Path> before = runtimes.binaries();
        Map<String, Path> after = next.runtimes();
        if (!before.equals(after)) {
            runtimes.replace(after);
            for (String h : new TreeSet<>(union(before.keySet(), after.keySet()))) {
                Path b = before.get(h);
                Path a = after.get(h);
                if (b == null) {
                    changes.add("runtimes." + h + " added: " + a);
                } else if (a == null) {
                    changes.add("runtimes." + h + " removed (its running containers keep it)");
                } else if (!a.equals(b)) {
                    changes.add("runtimes." + h + " " + b + " -> " + a);
                }
            }
        }
        // read at each use: the reload checked the files; say so when they are the ones in force
        changes.add("registries.conf " + now.registriesConf() + " checked ("
                + RegistriesConf.load(now.registriesConf()).registries().size() + " registries)");
        if (Files.exists(now.seccompDefaultProfile())) {
            changes.add("seccomp default profile " + now.seccompDefaultProfile() + " checked");
        }
        List<String> restart = new ArrayList<>();
        for (String key : new TreeSet<>(union(now.asMap().keySet(), next.asMap().keySet()))) {
            if (key.equals("log_level") || key.startsWith(ConfigKeys.RUNTIMES_PREFIX)) {
                continue;
            }
            if (!Objects.equals(now.get(key), next.get(key))) {
                restart.add(key);
            }
        }
        if (!restart.isEmpty()) {
            changes.add("changed, applied at the next restart: " + String.join(", ", restart));
        }
        // keep the running values of what needs a restart; what was applied is now in force
        current = next;
        return new Outcome(true, changes, List.of());
    }

    private static <T> java.util.Set<T> union(java.util.Set<T> a, java.util.Set<T> b) {
        java.util.Set<T> u = new java.util.LinkedHashSet<>(a);
        u.addAll(b);
        return u;
    }
}
