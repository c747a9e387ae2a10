package dev.berth.conformance.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A pinned private mount namespace in which cgroup2 is mounted at /sys/fs/cgroup, so a daemon
 * started in it sees a cgroup v2 host even on a hybrid-cgroup machine, and every mount it makes
 * (namespace pins, overlay root filesystems) stays out of the host's mount table.
 *
 * <p>The namespace is pinned by a bind mount of its nsfs file, so a daemon can be killed and
 * restarted into the same namespace and find its mounts again, as after a real crash. Propagation
 * from the host is slave: host mounts show up inside, nothing inside leaks out. On a host whose
 * /sys/fs/cgroup already is cgroup2 nothing is mounted over it.
 */
public final class PrivateMountNamespace implements AutoCloseable {
    private final Path dir;
    private final Path nsFile;
    private boolean closed;

    private PrivateMountNamespace(Path dir) {
        this.dir = dir;
        this.nsFile = dir.resolve("mnt");
    }

    public static PrivateMountNamespace create(Path dir) throws IOException {
        Files.createDirectories(dir);
        PrivateMountNamespace ns = new PrivateMountNamespace(dir);
        // An nsfs file can only be bind-mounted onto a mount that is not shared.
        Commands.run("mount", "--bind", dir.toString(), dir.toString()).orThrow();
        Commands.run("mount", "--make-private", dir.toString()).orThrow();
        Files.createFile(ns.nsFile);
        String setup = hostHasCgroupV2() ? "true" : "mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup";
        Commands.Result r = Commands.run("unshare", "--mount=" + ns.nsFile, "--propagation", "slave", "sh", "-c", setup);
        if (r.exitCode() != 0) {
            ns.close();
            throw new IOException("cannot create a private mount namespace: " + r.output());
        }
        return ns;
    }

    static boolean hostHasCgroupV2() {
        return Commands.run("stat", "-f", "-c", "%T", "/sys/fs/cgroup").output().trim().equals("cgroup2fs");
    }

    public Path nsFile() {
        return nsFile;
    }

    /** The command, run inside this namespace. */
    public List<String> wrap(List<String> command) {
        List<String> out = new ArrayList<>(List.of("nsenter", "--mount=" + nsFile, "--"));
        out.addAll(command);
        return out;
    }

    public Commands.Result run(String... command) {
        return Commands.run(wrap(List.of(command)));
    }

    /** Mount points inside the namespace under {@code prefix} (for leak census). */
    public List<String> mountsUnder(Path prefix) {
        List<String> out = new ArrayList<>();
        for (String line : run("cat", "/proc/self/mountinfo").output().split("\n")) {
            String[] f = line.split(" ");
            if (f.length > 4 && f[4].startsWith(prefix.toString())) {
                out.add(f[4]);
            }
        }
        return out;
    }

    /**
     * PIDs of processes still living in this namespace. After a test removed all its pods there
     * must be none; {@link #close()} ends any that remain (they can only be ours).
     */
    public List<Long> processes() {
        List<Long> pids = new ArrayList<>();
        String target;
        try {
            target = Commands.run("stat", "-L", "-c", "%i", nsFile.toString()).output().trim();
        } catch (RuntimeException e) {
            return pids;
        }
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String link = Files.readSymbolicLink(p.resolve("ns/mnt")).toString();
                    if (link.equals("mnt:[" + target + "]")) {
                        pids.add(Long.parseLong(name));
                    }
                } catch (IOException | UnsupportedOperationException ignored) {
                    // process gone or not ours to read
                }
            }
        } catch (IOException e) {
            return pids;
        }
        return pids;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (long pid : processes()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        Commands.run("umount", nsFile.toString());
        Commands.run("umount", "-l", dir.toString());
    }
}
