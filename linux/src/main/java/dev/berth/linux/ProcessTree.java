package dev.berth.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A process and everything it started, as /proc shows it (host pids). Killing a tree first stops
 * every member (SIGSTOP) until no new child appears, then SIGKILLs them all, so a process that
 * forks while being killed cannot leave a child behind.
 */
public final class ProcessTree {
    private static final Path PROC = Path.of("/proc");
    private static final int SIGSTOP = 19;
    private static final int MAX_ROUNDS = 50;

    private ProcessTree() {}

    /** The parent pid of {@code pid}, empty when it does not exist. */
    public static OptionalInt parentOf(int pid) {
        String stat = stat(PROC.resolve(Integer.toString(pid)));
        return stat == null ? OptionalInt.empty() : OptionalInt.of(ppid(stat));
    }

    /** Every descendant of {@code pid} (children first, then theirs), not {@code pid} itself. */
    public static List<Integer> descendants(int pid) {
        Map<Integer, List<Integer>> children = childrenByParent();
        Set<Integer> out = new LinkedHashSet<>();
        ArrayDeque<Integer> todo = new ArrayDeque<>(List.of(pid));
        while (!todo.isEmpty()) {
            for (int c : children.getOrDefault(todo.poll(), List.of())) {
                if (c != pid && out.add(c)) {
                    todo.add(c);
                }
            }
        }
        return new ArrayList<>(out);
    }

    /**
     * SIGKILLs {@code root} and all its descendants. With {@code expectedParent} above 0, the root
     * is only touched while its parent is that process (a reaped pid may have been reused).
     * Returns how many processes were signalled.
     */
    public static int kill(int root, int expectedParent) {
        if (root <= 1) {
            throw new IllegalArgumentException("refusing to kill the tree of pid " + root);
        }
        if (expectedParent > 0 && parentOf(root).orElse(-1) != expectedParent) {
            return 0;
        }
        Set<Integer> stopped = new LinkedHashSet<>();
        for (int round = 0; round < MAX_ROUNDS; round++) {
            List<Integer> tree = new ArrayList<>();
            tree.add(root);
            tree.addAll(descendants(root));
            boolean grew = false;
            for (int p : tree) {
                if (stopped.add(p)) {
                    grew = true;
                    Processes.kill(p, SIGSTOP);
                }
            }
            if (!grew) {
                break;
            }
        }
        int n = 0;
        for (int p : stopped) {
            if (Processes.kill(p, Processes.SIGKILL)) {
                n++;
            }
        }
        return n;
    }

    private static Map<Integer, List<Integer>> childrenByParent() {
        Map<Integer, List<Integer>> children = new HashMap<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(PROC, p -> isNumber(p.getFileName().toString()))) {
            for (Path p : dir) {
                String stat = stat(p);
                if (stat != null) {
                    children.computeIfAbsent(ppid(stat), k -> new ArrayList<>())
                            .add(Integer.parseInt(p.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            throw new LinuxException("readdir", PROC.toString(), Errno.EACCES, e.getMessage());
        }
        return children;
    }

    private static String stat(Path procDir) {
        try {
            return new String(Files.readAllBytes(procDir.resolve("stat")), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null; // gone meanwhile
        }
    }

    /** The ppid field: the second after the command name, which ends at the last ')'. */
    private static int ppid(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 3);
        return Integer.parseInt(f[1]);
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
