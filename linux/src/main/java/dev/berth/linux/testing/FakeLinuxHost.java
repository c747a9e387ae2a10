package dev.berth.linux.testing;

import dev.berth.linux.LinuxException;
import dev.berth.linux.host.LinuxHost;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The recording fake host. Every method of every concern records a {@link Call}; {@link #failNext}
 * and {@link #failWhen} make chosen calls throw a {@link LinuxException} with an errno instead of
 * acting (the call is still recorded). The concerns keep a model of the host they changed:
 * {@link FakeMounts#mounted()}, {@link FakeNamespacePins#live()}, {@link FakeProcesses#live()},
 * {@link FakeCgroups#directories()}, {@link FakeNetLinks#names()}.
 */
public final class FakeLinuxHost implements LinuxHost {
    private final List<Call> calls = new ArrayList<>();
    private final List<FailureRule> rules = new ArrayList<>();
    private final FakeMounts mounts = new FakeMounts(this);
    private final FakeNamespacePins namespaces = new FakeNamespacePins(this);
    private final FakeProcesses processes = new FakeProcesses(this);
    private final FakeProcFs procfs = new FakeProcFs(this);
    private final FakeNetLinks links = new FakeNetLinks(this);
    private final FakeHostCommands commands = new FakeHostCommands(this);
    private final Map<Path, FakeCgroups> cgroups = new ConcurrentHashMap<>();

    private record FailureRule(String op, Predicate<Call> when, int errno, int[] remaining) {}

    @Override
    public FakeMounts mounts() {
        return mounts;
    }

    @Override
    public FakeNamespacePins namespaces() {
        return namespaces;
    }

    @Override
    public FakeProcesses processes() {
        return processes;
    }

    @Override
    public FakeCgroups cgroups(Path mount) {
        return cgroups.computeIfAbsent(mount.toAbsolutePath().normalize(), m -> new FakeCgroups(this, m));
    }

    @Override
    public FakeProcFs procfs() {
        return procfs;
    }

    @Override
    public FakeNetLinks links() {
        return links;
    }

    @Override
    public FakeHostCommands commands() {
        return commands;
    }

    // ---------------------------------------------------------------- failures

    /** The next call of {@code op} ("mounts.mount", "processes.startDetached", ...) fails with errno. */
    public synchronized FakeLinuxHost failNext(String op, int errno) {
        rules.add(new FailureRule(op, c -> true, errno, new int[] {1}));
        return this;
    }

    /** Every call of {@code op} whose call matches {@code when} fails with errno, until {@link #clearFailures}. */
    public synchronized FakeLinuxHost failWhen(String op, Predicate<Call> when, int errno) {
        rules.add(new FailureRule(op, when, errno, new int[] {Integer.MAX_VALUE}));
        return this;
    }

    public synchronized void clearFailures() {
        rules.clear();
    }

    // ---------------------------------------------------------------- record

    /** Every call so far, in order. */
    public synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The calls whose op starts with {@code prefix} ("mounts.", "cgroups.mkdir"). */
    public synchronized List<Call> calls(String prefix) {
        return calls.stream().filter(c -> c.op().startsWith(prefix)).toList();
    }

    /** The ops of every call so far, in order. */
    public synchronized List<String> ops() {
        return calls.stream().map(Call::op).toList();
    }

    public synchronized void clearCalls() {
        calls.clear();
    }

    /**
     * Everything the model still holds: mounts, pinned namespaces, live processes, cgroup
     * directories below the roots, links. Empty when a sequence left nothing behind.
     */
    public synchronized List<String> leftovers() {
        List<String> out = new ArrayList<>();
        mounts.mounted().forEach(p -> out.add("mount " + p));
        namespaces.live().forEach(n -> out.add("namespace " + n));
        processes.live().forEach(p -> out.add("process " + p + " " + processes.cmdlineOf(p)));
        for (FakeCgroups g : cgroups.values()) {
            g.directories().forEach(d -> out.add("cgroup " + d));
        }
        links.names().forEach(l -> out.add("link " + l));
        return out;
    }

    /** Records the call; throws when a failure rule says so. Called first by every fake method. */
    synchronized Call record(String op, Object... args) {
        Call c = new Call(op, Arrays.asList(args));
        calls.add(c);
        for (FailureRule r : rules) {
            if (r.op().equals(op) && r.remaining()[0] > 0 && r.when().test(c)) {
                r.remaining()[0]--;
                throw new LinuxException(op, c.args().isEmpty() ? op : String.valueOf(c.args().get(0)), r.errno(),
                        "injected failure");
            }
        }
        return c;
    }

    static LinuxException error(String op, Object subject, int errno, String text) {
        return new LinuxException(op, String.valueOf(subject), errno, text);
    }
}
