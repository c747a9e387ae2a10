package dev.berth.linux.testing;

import dev.berth.linux.Errno;
import dev.berth.linux.Processes;
import dev.berth.linux.host.ProcessTable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Processes as a table of pids with their command lines and parents. What a started program does
 * is up to a {@link Program} registered for its name (the last part of argv[0]); without one, a
 * detached program just runs (and with {@code --fork} in its arguments, as {@code unshare --fork},
 * it gets a child with the same command line), and a reporting one exits at once saying nothing.
 * A killed process takes its children with it, and its parent when that is a {@code --kill-child}
 * wrapper. Any signal but 0 kills. A {@link #spawn spawned} child runs its program with the
 * descriptors it was given ({@link #fdsOf}); a line the program returns goes to its fd 3 (the sync
 * pipe), and it runs until it is reaped ({@link #waitFor}, exit status 0) or killed.
 */
public final class FakeProcesses implements ProcessTable {
    /** What a started program does: may add processes; for a reporting program, returns its line. */
    @FunctionalInterface
    public interface Program {
        String run(FakeProcesses processes, int pid, List<String> argv, Map<String, String> env);
    }

    private record Proc(int pid, int parent, List<String> argv) {}

    private final FakeLinuxHost host;
    private final AtomicInteger next = new AtomicInteger(1000);
    private final Map<Integer, Proc> live = new LinkedHashMap<>();
    private final Map<String, Program> programs = new LinkedHashMap<>();
    private final Map<Integer, Map<Integer, Integer>> spawnedFds = new LinkedHashMap<>();

    FakeProcesses(FakeLinuxHost host) {
        this.host = host;
    }

    /** What the program named {@code name} (argv[0]'s last part) does when started. */
    public FakeProcesses program(String name, Program program) {
        synchronized (host) {
            programs.put(name, program);
            return this;
        }
    }

    @Override
    public Report spawnReporting(List<String> argv, Map<String, String> env, int maxLine, long timeoutMillis) {
        synchronized (host) {
            host.record("processes.spawnReporting", List.copyOf(argv), env == null ? Map.of() : Map.copyOf(env));
            int pid = add(0, argv);
            Program p = programs.get(name(argv));
            String line = p == null ? "" : p.run(this, pid, argv, env == null ? Map.of() : env);
            end(pid); // it daemonized (or died) and was reaped
            return new Report(pid, line == null ? "" : line, false);
        }
    }

    @Override
    public int spawn(List<String> argv, Map<String, String> env, Map<Integer, Integer> fds) {
        synchronized (host) {
            host.record("processes.spawn", List.copyOf(argv), env == null ? Map.of() : Map.copyOf(env),
                    List.copyOf(new java.util.TreeSet<>(fds.keySet())));
            int pid = add(0, argv);
            spawnedFds.put(pid, Map.copyOf(fds));
            Program p = programs.get(name(argv));
            String line = p == null ? null : p.run(this, pid, argv, env == null ? Map.of() : env);
            Integer sync = fds.get(3);
            if (line != null && sync != null) {
                // a real pipe the caller made: a small write never blocks
                Processes.write(sync, line.getBytes(StandardCharsets.UTF_8));
            }
            return pid;
        }
    }

    @Override
    public int waitFor(int pid, long timeoutMillis) {
        synchronized (host) {
            host.record("processes.waitFor", pid);
            end(pid);
            return 0;
        }
    }

    @Override
    public int killTree(int root, int expectedParent) {
        synchronized (host) {
            host.record("processes.killTree", root, expectedParent);
            Proc p = live.get(root);
            if (p == null || (expectedParent > 0 && p.parent() != expectedParent)) {
                return 0;
            }
            int before = live.size();
            end(root);
            return before - live.size();
        }
    }

    /** The descriptors (child fd -> the caller's fd) a spawned process was given; empty for others. */
    public Map<Integer, Integer> fdsOf(int pid) {
        synchronized (host) {
            return spawnedFds.getOrDefault(pid, Map.of());
        }
    }

    /** Writes {@code text} to a descriptor a spawned program was given (its stdout, its sync pipe). */
    public static void write(int fd, String text) {
        Processes.write(fd, text.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public int startDetached(List<String> argv) {
        synchronized (host) {
            host.record("processes.startDetached", List.copyOf(argv));
            int pid = add(0, argv);
            Program p = programs.get(name(argv));
            if (p != null) {
                p.run(this, pid, argv, Map.of());
            } else if (argv.contains("--fork")) {
                add(pid, argv);
            }
            return pid;
        }
    }

    @Override
    public boolean alive(int pid) {
        synchronized (host) {
            host.record("processes.alive", pid);
            return live.containsKey(pid);
        }
    }

    @Override
    public boolean kill(int pid, int signal) {
        synchronized (host) {
            host.record("processes.kill", pid, signal);
            if (pid <= 0) {
                throw new IllegalArgumentException("refusing to signal pid " + pid);
            }
            Proc p = live.get(pid);
            if (p == null) {
                return false;
            }
            if (signal != 0) {
                end(pid);
                Proc parent = live.get(p.parent());
                if (parent != null && parent.argv().contains("--kill-child")) {
                    end(parent.pid());
                }
            }
            return true;
        }
    }

    @Override
    public String cmdline(int pid) {
        synchronized (host) {
            host.record("processes.cmdline", pid);
            return cmdlineOf(pid);
        }
    }

    @Override
    public List<Integer> children(int pid) {
        synchronized (host) {
            host.record("processes.children", pid);
            return live.values().stream().filter(p -> p.parent() == pid).map(Proc::pid).toList();
        }
    }

    @Override
    public List<Integer> pids() {
        synchronized (host) {
            host.record("processes.pids");
            return List.copyOf(live.keySet());
        }
    }

    @Override
    public boolean hasNamespaceFile(int pid, String kind) {
        synchronized (host) {
            host.record("processes.hasNamespaceFile", pid, kind);
            return live.containsKey(pid);
        }
    }

    // ---------------------------------------------------------------- model

    /** Adds a running process (a program's child, or one a test says survived a crash); returns its pid. */
    public int add(int parent, List<String> argv) {
        synchronized (host) {
            int pid = next.getAndIncrement();
            live.put(pid, new Proc(pid, parent, List.copyOf(argv)));
            return pid;
        }
    }

    /** Gives a process another parent, as the kernel does when its parent dies (then it outlives it). */
    public void reparent(int pid, int parent) {
        synchronized (host) {
            Proc p = live.get(pid);
            if (p != null) {
                live.put(pid, new Proc(pid, parent, p.argv()));
            }
        }
    }

    /** Ends a process and its descendants without a recorded call (it exited, or the node rebooted). */
    public void end(int pid) {
        synchronized (host) {
            for (Proc c : List.copyOf(live.values())) {
                if (c.parent() == pid) {
                    end(c.pid());
                }
            }
            spawnedFds.remove(pid);
            if (live.remove(pid) != null) {
                for (FakeCgroupsRef ref : cgroupRefs) {
                    ref.forget(pid);
                }
            }
        }
    }

    /** Pids of live processes. */
    public List<Integer> live() {
        synchronized (host) {
            return List.copyOf(live.keySet());
        }
    }

    /** Live processes whose command line contains {@code text}. */
    public List<Integer> find(String text) {
        synchronized (host) {
            return live.values().stream().filter(p -> String.join(" ", p.argv()).contains(text)).map(Proc::pid)
                    .toList();
        }
    }

    String cmdlineOf(int pid) {
        Proc p = live.get(pid);
        return p == null ? "" : String.join(" ", p.argv()) + " ";
    }

    boolean isLive(int pid) {
        return live.containsKey(pid);
    }

    /** The cgroup models that must forget a process when it ends. */
    interface FakeCgroupsRef {
        void forget(int pid);
    }

    private final List<FakeCgroupsRef> cgroupRefs = new ArrayList<>();

    void track(FakeCgroupsRef ref) {
        cgroupRefs.add(ref);
    }

    static void requireLive(FakeProcesses p, int pid) {
        if (!p.isLive(pid)) {
            throw FakeLinuxHost.error("write cgroup.procs", pid, Errno.ESRCH, "No such process");
        }
    }

    private static String name(List<String> argv) {
        return argv.isEmpty() ? "" : Path.of(argv.get(0)).getFileName().toString();
    }
}
