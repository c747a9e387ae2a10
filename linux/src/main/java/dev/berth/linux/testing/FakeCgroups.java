package dev.berth.linux.testing;

import dev.berth.linux.Errno;
import dev.berth.linux.host.CgroupFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One cgroup v2 hierarchy in memory: directories with their files, and which live process is in
 * which cgroup ({@code cgroup.procs} is written to move one, read to list them, and
 * {@code cgroup.kill} ends them all). rmdir is EBUSY while a cgroup has children or processes,
 * as in the kernel. The root starts with {@code cgroup.controllers} (cpu, memory, pids, ...).
 */
public final class FakeCgroups implements CgroupFiles, FakeProcesses.FakeCgroupsRef {
    private final FakeLinuxHost host;
    private final Path mount;
    /** directory ("" is the root) -> its files (name -> content) */
    private final Map<String, Map<String, String>> dirs = new TreeMap<>();
    private final Map<Integer, String> members = new TreeMap<>();
    private boolean cgroup2 = true;
    private boolean killFile = true;

    FakeCgroups(FakeLinuxHost host, Path mount) {
        this.host = host;
        this.mount = mount;
        Map<String, String> root = emptyDir();
        root.put("cgroup.controllers", "cpuset cpu io memory hugetlb pids");
        root.put("cgroup.subtree_control", "");
        dirs.put("", root);
        host.processes().track(this);
    }

    /** Whether {@link #isCgroup2()} says so (a plain directory standing in for cgroupfs says no). */
    public FakeCgroups cgroup2(boolean value) {
        synchronized (host) {
            cgroup2 = value;
            return this;
        }
    }

    /**
     * A kernel before 5.14: no {@code cgroup.kill} in any directory, so processes must be killed one
     * by one from {@code cgroup.procs}.
     */
    public FakeCgroups withoutKillFile() {
        synchronized (host) {
            killFile = false;
            dirs.forEach((d, files) -> files.remove("cgroup.kill"));
            return this;
        }
    }

    @Override
    public Path mount() {
        return mount;
    }

    @Override
    public boolean isCgroup2() {
        synchronized (host) {
            host.record("cgroups.isCgroup2", mount);
            return cgroup2;
        }
    }

    @Override
    public boolean exists(String path) {
        synchronized (host) {
            host.record("cgroups.exists", norm(path));
            return dirs.containsKey(norm(path)) || file(norm(path)) != null;
        }
    }

    @Override
    public boolean isDirectory(String path) {
        synchronized (host) {
            host.record("cgroups.isDirectory", norm(path));
            return dirs.containsKey(norm(path));
        }
    }

    @Override
    public void mkdir(String path) {
        synchronized (host) {
            String p = norm(path);
            host.record("cgroups.mkdir", p);
            if (dirs.containsKey(p)) {
                throw FakeLinuxHost.error("mkdir", p, Errno.EEXIST, "File exists");
            }
            if (!dirs.containsKey(parent(p))) {
                throw FakeLinuxHost.error("mkdir", p, Errno.ENOENT, "No such file or directory");
            }
            dirs.put(p, newDir());
        }
    }

    private Map<String, String> newDir() {
        Map<String, String> m = emptyDir();
        if (!killFile) {
            m.remove("cgroup.kill");
        }
        return m;
    }

    @Override
    public void rmdir(String path) {
        synchronized (host) {
            String p = norm(path);
            host.record("cgroups.rmdir", p);
            if (!dirs.containsKey(p) || p.isEmpty()) {
                throw FakeLinuxHost.error("rmdir", p, p.isEmpty() ? Errno.EBUSY : Errno.ENOENT, "cannot remove");
            }
            if (!childrenOf(p).isEmpty() || members.containsValue(p)) {
                throw FakeLinuxHost.error("rmdir", p, Errno.EBUSY, "Device or resource busy");
            }
            dirs.remove(p);
        }
    }

    @Override
    public String read(String path) {
        synchronized (host) {
            String p = norm(path);
            host.record("cgroups.read", p);
            if (p.endsWith("cgroup.procs") && dirs.containsKey(parent(p))) {
                StringBuilder b = new StringBuilder();
                members.forEach((pid, dir) -> {
                    if (dir.equals(parent(p))) {
                        b.append(pid).append('\n');
                    }
                });
                return b.toString();
            }
            String v = file(p);
            if (v == null) {
                throw FakeLinuxHost.error("read", p, Errno.ENOENT, "No such file or directory");
            }
            return v;
        }
    }

    @Override
    public void write(String path, String value) {
        synchronized (host) {
            String p = norm(path);
            host.record("cgroups.write", p, value);
            String dir = parent(p);
            Map<String, String> files = dirs.get(dir);
            if (files == null) {
                throw FakeLinuxHost.error("write", p, Errno.ENOENT, "No such file or directory");
            }
            String name = p.substring(p.lastIndexOf('/') + 1);
            if (name.equals("cgroup.procs")) {
                int pid = Integer.parseInt(value.strip());
                FakeProcesses.requireLive(host.processes(), pid);
                members.put(pid, dir);
            } else if (name.equals("cgroup.kill") && files.containsKey("cgroup.kill")) {
                for (Map.Entry<Integer, String> m : List.copyOf(members.entrySet())) {
                    if (m.getValue().equals(dir) || m.getValue().startsWith(dir + "/")) {
                        host.processes().end(m.getKey());
                    }
                }
            } else {
                files.put(name, value);
            }
        }
    }

    @Override
    public List<String> children(String path) {
        synchronized (host) {
            host.record("cgroups.children", norm(path));
            return childrenOf(norm(path));
        }
    }

    // ---------------------------------------------------------------- model

    /** Every directory below the root ("/berth/pods/pod-1"), outermost first. */
    public Set<String> directories() {
        synchronized (host) {
            Set<String> out = new LinkedHashSet<>();
            for (String d : dirs.keySet()) {
                if (!d.isEmpty()) {
                    out.add("/" + d);
                }
            }
            return out;
        }
    }

    /** Makes directories (and parents) that exist before the test, without a recorded call. */
    public FakeCgroups given(String path) {
        synchronized (host) {
            String p = norm(path);
            StringBuilder cur = new StringBuilder();
            for (String part : p.split("/")) {
                if (part.isEmpty()) {
                    continue;
                }
                cur.append(cur.length() == 0 ? "" : "/").append(part);
                dirs.putIfAbsent(cur.toString(), newDir());
            }
            return this;
        }
    }

    /** The cgroup of a live process ("/pod/c1"), or null. */
    public String cgroupOf(int pid) {
        synchronized (host) {
            String d = members.get(pid);
            return d == null ? null : "/" + d;
        }
    }

    @Override
    public void forget(int pid) {
        members.remove(pid);
    }

    private String file(String p) {
        Map<String, String> files = dirs.get(parent(p));
        return files == null ? null : files.get(p.substring(p.lastIndexOf('/') + 1));
    }

    private List<String> childrenOf(String p) {
        List<String> out = new ArrayList<>();
        String prefix = p.isEmpty() ? "" : p + "/";
        for (String d : dirs.keySet()) {
            if (!d.isEmpty() && d.startsWith(prefix) && d.indexOf('/', prefix.length()) < 0 && !d.equals(p)) {
                out.add(d.substring(prefix.length()));
            }
        }
        return out;
    }

    private static Map<String, String> emptyDir() {
        Map<String, String> m = new TreeMap<>();
        m.put("cgroup.kill", "");
        m.put("cgroup.subtree_control", "");
        m.put("memory.events", "oom 0\noom_kill 0\n");
        return m;
    }

    private static String parent(String p) {
        int i = p.lastIndexOf('/');
        return i < 0 ? "" : p.substring(0, i);
    }

    private static String norm(String path) {
        String p = path.replaceAll("/+", "/");
        if (p.startsWith("/")) {
            p = p.substring(1);
        }
        if (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }
}
