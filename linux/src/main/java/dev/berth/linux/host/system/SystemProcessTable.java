package dev.berth.linux.host.system;

import dev.berth.core.error.BerthException;
import dev.berth.linux.ProcessTree;
import dev.berth.linux.Processes;
import dev.berth.linux.host.ProcessTable;
import dev.berth.linux.net.NetCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** {@link ProcessTable} over posix_spawn, kill(2), waitpid(2) and /proc. */
final class SystemProcessTable implements ProcessTable {
    /** How often a waiting {@link #spawnReporting(List, Map, int, long, BooleanSupplier)} asks whether to give up. */
    private static final long GIVE_UP_POLL_MS = 500;

    @Override
    public Report spawnReporting(List<String> argv, Map<String, String> env, int maxLine, long timeoutMillis) {
        return spawnReporting(argv, env, maxLine, timeoutMillis, () -> false);
    }

    @Override
    public Report spawnReporting(List<String> argv, Map<String, String> env, int maxLine, long timeoutMillis,
            BooleanSupplier giveUp) {
        Processes.Pipe sync = Processes.pipe();
        int pid;
        try {
            pid = Processes.spawn(argv, env, Map.of(3, sync.write()), true);
        } catch (RuntimeException e) {
            Processes.close(sync.read());
            throw e;
        } finally {
            Processes.close(sync.write());
        }
        try {
            // read in slices, so the caller can end a wait that will never be answered; a line cut by a
            // slice's end is continued by the next (readLine reads byte by byte)
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
            boolean timedOut;
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    timedOut = true;
                    break;
                }
                Processes.ReadResult r = Processes.readLine(sync.read(), Math.max(1, maxLine - line.size()),
                        Math.min(left, GIVE_UP_POLL_MS));
                line.writeBytes(r.data());
                if (!r.timedOut() || line.size() >= maxLine) {
                    timedOut = false;
                    break;
                }
                if (giveUp.getAsBoolean()) {
                    timedOut = true;
                    break;
                }
            }
            // the first process forks the monitor and exits at once: reap it, no zombies
            Processes.waitFor(pid, 10_000);
            return new Report(pid, line.toString(StandardCharsets.UTF_8), timedOut);
        } finally {
            Processes.close(sync.read());
        }
    }

    @Override
    public int spawn(List<String> argv, Map<String, String> env, Map<Integer, Integer> fds) {
        return Processes.spawn(argv, env, fds, true);
    }

    @Override
    public int waitFor(int pid, long timeoutMillis) {
        return Processes.waitFor(pid, timeoutMillis);
    }

    @Override
    public int killTree(int root, int expectedParent) {
        return ProcessTree.kill(root, expectedParent);
    }

    @Override
    public int startDetached(List<String> argv) {
        // the JDK's reaper waits for it; the pid is all callers keep
        return (int) NetCommand.startDetached(argv).pid();
    }

    @Override
    public boolean alive(int pid) {
        return Processes.alive(pid);
    }

    @Override
    public boolean kill(int pid, int signal) {
        return Processes.kill(pid, signal);
    }

    @Override
    public String cmdline(int pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Integer.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public List<Integer> children(int pid) {
        try {
            String s = Files.readString(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(pid),
                    "children")).strip();
            return s.isEmpty() ? List.of() : Arrays.stream(s.split("\\s+")).map(Integer::valueOf).toList();
        } catch (IOException | NumberFormatException e) {
            return List.of();
        }
    }

    @Override
    public List<Integer> pids() {
        List<Integer> out = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String n = p.getFileName().toString();
                if (!n.isEmpty() && n.chars().allMatch(Character::isDigit)) {
                    out.add(Integer.parseInt(n));
                }
            }
        } catch (IOException e) {
            throw BerthException.internal("cannot list /proc: " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public boolean hasNamespaceFile(int pid, String kind) {
        return Files.exists(ProcessTable.namespaceFile(pid, kind));
    }
}
