package dev.berth.runtime.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;
import dev.berth.core.state.StateStore;
import dev.berth.runtime.cgroup.CgroupManager;
import dev.berth.runtime.cgroup.CgroupfsDriver;
import dev.berth.runtime.container.ContainerRecord.Phase;
import dev.berth.runtime.exec.ExecRunner;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.runtime.sandbox.NamespacePinner;
import dev.berth.runtime.sandbox.SandboxView;
import dev.berth.runtime.stream.RuntimeStreams;
import dev.berth.runtime.stream.StdioSession;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ImageSpec;

/**
 * Exec, attach and port-forward ({@link RuntimeStreams}) against real runc + conmon containers on
 * a busybox root filesystem, and ExecSync's timeout and background children on the same path.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ContainerStreamsTest {
    private Path tmp;
    private StateStore store;
    private ContainerService service;
    private RuntimeStreams streams;
    private CgroupManager cgroups;
    private Path netns;
    private final String podCgroup = "/berth-streams-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void setUp() throws Exception {
        TestFixtures.assumeContainerHost();
        tmp = Files.createTempDirectory("berth-streams");
        Path lower = TestFixtures.busyboxRootfs(tmp.resolve("image/rootfs"));
        for (String applet : List.of("nc", "stty", "tty", "read")) {
            Path link = lower.resolve("bin").resolve(applet);
            if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(link, Path.of("busybox"));
            }
        }
        TestFixtures.Images images = new TestFixtures.Images();
        images.byRef.put("busybox", TestFixtures.image("sha256:" + "ab".repeat(32), lower,
                TestFixtures.config(List.of(), List.of("sh"), "")));
        images.byRef.put("busybox-app", TestFixtures.image("sha256:" + "cd".repeat(32), lower,
                TestFixtures.config(List.of(), List.of("sh"), "app")));
        TestFixtures.Pods pods = new TestFixtures.Pods();
        pods.byId.put("hostpod", TestFixtures.pod("hostpod", tmp.resolve("pods/hostpod"), podCgroup, ""));
        // A pod with a network namespace of its own, loopback up (what CNI does for a pod).
        netns = new NamespacePinner(dev.berth.linux.host.LinuxHost.system()).pin(tmp.resolve("pods/netpod/ns"), true, false, false, null).get("net");
        run("nsenter", "--net=" + netns, "ip", "link", "set", "lo", "up");
        SandboxView base = TestFixtures.pod("netpod", tmp.resolve("pods/netpod"), podCgroup, "");
        pods.byId.put("netpod", new SandboxView(base.id(), base.config(), true, "", netns, null, null, null,
                podCgroup, base.hostsFile(), base.resolvConfFile(), base.hostnameFile(), null));
        store = StateStore.open(tmp.resolve("state"));
        cgroups = new CgroupManager(Path.of("/sys/fs/cgroup"), new CgroupfsDriver(), false);
        service = TestFixtures.service(tmp, store, cgroups, images, pods, Map.of("runc", TestFixtures.RUNC));
        streams = new RuntimeStreams(service, pods, new OciRuntimes(Map.of("runc", TestFixtures.RUNC), "runc",
                tmp.resolve("run/runtimes")), new Conmon(TestFixtures.CONMON, tmp.resolve("run/exits"),
                tmp.resolve("run/attach"), dev.berth.linux.host.LinuxHost.system().processes()), tmp.resolve("containers"), 64 * 1024);
    }

    @AfterAll
    void tearDown() throws Exception {
        if (netns != null) {
            new NamespacePinner(dev.berth.linux.host.LinuxHost.system()).unpin(netns);
        }
        TestFixtures.cleanUp(service, store, cgroups, podCgroup, tmp);
    }

    private String running(String pod, ContainerConfig.Builder c) {
        String id = service.create(pod, c.build());
        service.start(id);
        assertEquals(Phase.RUNNING, service.status(id).phase());
        return id;
    }

    private static ContainerConfig.Builder cfg(String name, String image, String... cmd) {
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addAllCommand(List.of(cmd))
                .setLogPath(name + "/0.log");
    }

    @Test
    void execWithoutTerminalAsTheContainersUser() throws Exception {
        String id = running("hostpod", cfg("plain", "busybox-app", "sleep", "1000"));
        try (StdioSession s = streams.exec(id, List.of("sh", "-c", "id -u; cat; echo oops >&2; exit 3"), false, true,
                true, true)) {
            CompletableFuture<String> out = readAll(s.stdout());
            CompletableFuture<String> err = readAll(s.stderr());
            s.stdin().write("hello\nworld\n".getBytes(StandardCharsets.UTF_8));
            s.stdin().close(); // EOF ends cat
            assertEquals(3, s.awaitExit());
            assertEquals("1000\nhello\nworld\n", out.get(10, TimeUnit.SECONDS), "runs as the image user app");
            assertEquals("oops\n", err.get(10, TimeUnit.SECONDS));
        }
        assertThrows(BerthException.class, () -> streams.exec(id, List.of(), false, false, true, false));
        BerthException missing = assertThrows(BerthException.class,
                () -> streams.exec(id, List.of("/no/such/binary"), false, false, true, true));
        assertEquals(ErrorKind.FAILED_PRECONDITION, missing.kind(), missing.getMessage());
        assertEquals(List.of(), sessionThreads(), "every session thread ended");
    }

    @Test
    void execWithTerminalSeesResize() throws Exception {
        String id = running("hostpod", cfg("tty", "busybox", "sleep", "1000"));
        try (StdioSession s = streams.exec(id, List.of("sh"), true, true, true, true)) {
            assertNull(s.stderr(), "a terminal carries stderr too");
            Transcript out = new Transcript(s.stdout());
            s.resize(123, 45);
            s.stdin().write("tty; stty size\n".getBytes(StandardCharsets.UTF_8));
            s.stdin().flush();
            out.await(t -> t.contains("45 123"));
            assertTrue(out.text().contains("/dev/pts/"), out.text());
            s.resize(80, 24);
            s.stdin().write("stty size; exit 5\n".getBytes(StandardCharsets.UTF_8));
            out.await(t -> t.contains("24 80"));
            assertEquals(5, s.awaitExit());
        }
    }

    @Test
    void attachesSeeTheSameOutputAndStdinOnceEndsTheContainer() throws Exception {
        String id = running("hostpod", cfg("attached", "busybox", "sh", "-c",
                "while read l; do echo \"got $l\"; echo \"err $l\" >&2; done; exit 4")
                .setStdin(true).setStdinOnce(true));
        StdioSession a = streams.attach(id, true, true, true);
        StdioSession b = streams.attach(id, false, true, false);
        try {
            Transcript aOut = new Transcript(a.stdout());
            Transcript aErr = new Transcript(a.stderr());
            Transcript bOut = new Transcript(b.stdout());
            assertNull(b.stderr());
            a.stdin().write("one\n".getBytes(StandardCharsets.UTF_8));
            aOut.await(t -> t.contains("got one"));
            bOut.await(t -> t.contains("got one"));
            aErr.await(t -> t.contains("err one"));
            assertFalse(bOut.text().contains("err one"), "stdout only for b");
            a.stdin().close(); // stdin_once: the container's stdin closes, the loop ends
            assertEquals(4, a.awaitExit());
            assertEquals(4, b.awaitExit());
            assertEquals(Phase.EXITED, service.status(id).phase());
        } finally {
            a.close();
            b.close();
        }
        assertThrows(BerthException.class, () -> streams.attach(id, false, true, false), "not running any more");
        String noStdin = running("hostpod", cfg("nostdin", "busybox", "sleep", "1000"));
        assertEquals(ErrorKind.FAILED_PRECONDITION,
                assertThrows(BerthException.class, () -> streams.attach(noStdin, true, true, false)).kind());
        StdioSession detached = streams.attach(noStdin, false, true, true);
        detached.close();
        assertEquals(-1, detached.awaitExit(), "detached before the container ended");
        assertEquals(Phase.RUNNING, service.status(noStdin).phase(), "detaching leaves the container running");
    }

    @Test
    void portForwardIntoThePodsNetworkNamespace() throws Exception {
        running("netpod", cfg("echo-server", "busybox", "nc", "-ll", "-p", "8080", "-e", "cat"));
        SocketChannel ch = null;
        long deadline = System.currentTimeMillis() + 10_000;
        while (ch == null) {
            try {
                ch = streams.portForward("netpod", 8080);
            } catch (IOException e) {
                assertTrue(e.getMessage().contains("refused"), e.getMessage());
                assertTrue(System.currentTimeMillis() < deadline, "the server never listened");
                Thread.sleep(50);
            }
        }
        try (SocketChannel c = ch) {
            c.write(ByteBuffer.wrap("ping\n".getBytes(StandardCharsets.UTF_8)));
            ByteBuffer buf = ByteBuffer.allocate(16);
            while (buf.position() < 5 && c.read(buf) >= 0) {
                // until the echo is back
            }
            assertEquals("ping\n", new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
        }
        IOException refused = assertThrows(IOException.class, () -> streams.portForward("netpod", 8081));
        assertTrue(refused.getMessage().contains("refused") && refused.getMessage().contains("8081"),
                refused.getMessage());
        // The host's loopback port is not the pod's.
        try (ServerSocket host = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            assertThrows(IOException.class, () -> streams.portForward("netpod", host.getLocalPort()));
            try (SocketChannel c = streams.portForward("hostpod", host.getLocalPort()); Socket peer = host.accept()) {
                c.write(ByteBuffer.wrap(new byte[] {42}));
                assertEquals(42, peer.getInputStream().read(), "a host-network pod forwards to the host's port");
            }
        }
        assertEquals(ErrorKind.NOT_FOUND,
                assertThrows(BerthException.class, () -> streams.portForward("nopod", 80)).kind());
    }

    @Test
    void containerEndingDuringExecEndsTheSession() throws Exception {
        String id = running("hostpod", cfg("ending", "busybox", "sleep", "1000"));
        StdioSession s = streams.exec(id, List.of("sleep", "300"), false, false, true, false);
        CompletableFuture<String> out = readAll(s.stdout());
        service.stop(id, 0);
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> {
            try {
                return s.awaitExit();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(128 + 9, code.get(20, TimeUnit.SECONDS), "killed with its container");
        assertEquals("", out.get(5, TimeUnit.SECONDS));
        s.close();
    }

    @Test
    void closingAnExecKillsItsProcessTree() throws Exception {
        String id = running("hostpod", cfg("closing", "busybox", "sleep", "1000"));
        StdioSession s = streams.exec(id, List.of("sh", "-c", "sleep 301 & sleep 302; echo never"), false, false,
                true, false);
        awaitProcesses(id, ps -> ps.contains("sleep 301") && ps.contains("sleep 302"));
        s.close();
        assertEquals(-1, s.awaitExit(), "closed before it ended");
        awaitProcesses(id, ps -> !ps.contains("sleep 30"));
        assertEquals(List.of(), zombieChildren());
    }

    @Test
    void execSyncTimeoutKillsEverythingItStarted() throws Exception {
        String id = running("hostpod", cfg("sync", "busybox", "sleep", "1000"));
        long t0 = System.nanoTime();
        BerthException timeout = assertThrows(BerthException.class,
                () -> service.execSync(id, List.of("sh", "-c", "sleep 61 & sleep 62"), 1));
        assertEquals(ErrorKind.DEADLINE_EXCEEDED, timeout.kind());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "killed at the timeout");
        assertFalse(ps(id).contains("sleep 6"), "nothing of the timed-out command is left: " + ps(id));
        assertEquals(List.of(), zombieChildren());
    }

    @Test
    void execSyncReturnsWhileABackgroundChildHoldsThePipes() throws Exception {
        String id = running("hostpod", cfg("background", "busybox", "sleep", "1000"));
        service.execSync(id, List.of("true"), 10); // warm up
        int fdsBefore = openFds();
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            ExecRunner.Result r = service.execSync(id, List.of("sh", "-c", "sleep 1000 & echo started " + i), 0);
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "returned once sh ended");
            assertEquals(0, r.exitCode());
            assertEquals("started " + i + "\n", new String(r.stdout(), StandardCharsets.UTF_8));
        }
        assertEquals(List.of(), sessionThreads(), "no thread per call is left");
        assertTrue(openFds() <= fdsBefore + 1, "no pipe per call is left: " + fdsBefore + " -> " + openFds());
        assertEquals(List.of(), zombieChildren());
    }

    @Test
    void twentyExecSyncsLeavingBackgroundChildrenLeakNothing() throws Exception {
        String id = running("hostpod", cfg("leaky", "busybox", "sleep", "1000"));
        service.execSync(id, List.of("true"), 10); // warm up
        int fdsBefore = openFds();
        long threadsBefore = platformThreads();
        for (int i = 0; i < 20; i++) {
            long t0 = System.nanoTime();
            ExecRunner.Result r = service.execSync(id, List.of("sh", "-c", "sleep 1d &"), 0);
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "call " + i + " returned once sh ended");
            assertEquals(0, r.exitCode());
        }
        // a child that keeps writing into the pipe: the call still returns, within the drain grace
        long t0 = System.nanoTime();
        // "first" before the child starts: a child that floods the pipe first could fill the output
        // cap before the shell's echo ran (a race the full suite hit once)
        ExecRunner.Result chatty = service.execSync(id, List.of("sh", "-c", "echo first; yes chatty &"), 0);
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "returned although a child keeps writing");
        assertTrue(new String(chatty.stdout(), StandardCharsets.UTF_8).startsWith("first\n")
                || new String(chatty.stdout(), StandardCharsets.UTF_8).contains("first\n"), "the shell's own output");
        service.execSync(id, List.of("sh", "-c", "pkill yes; true"), 10);
        assertEquals(List.of(), sessionThreads(), "no session thread per call is left");
        long threadsAfter = platformThreads();
        assertTrue(threadsAfter <= threadsBefore + 1, "threads: " + threadsBefore + " -> " + threadsAfter);
        assertTrue(openFds() <= fdsBefore + 1, "no pipe per call is left: " + fdsBefore + " -> " + openFds());
        assertEquals(List.of(), zombieChildren());
        assertTrue(ps(id).contains("sleep 1d"), "the background children themselves run on, as under containerd");
    }

    /** Platform threads of this JVM, as the kernel counts them, once the count has settled. */
    private static long platformThreads() throws Exception {
        long last = -1;
        for (int i = 0; i < 50; i++) {
            long n = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Threads:"))
                    .mapToLong(l -> Long.parseLong(l.substring(8).strip())).findFirst().orElse(-1);
            if (n == last) {
                return n;
            }
            last = n;
            Thread.sleep(50);
        }
        return last;
    }

    // ---- helpers ----

    private String ps(String id) {
        return new String(service.execSync(id, List.of("ps", "-o", "args"), 10).stdout(), StandardCharsets.UTF_8);
    }

    private void awaitProcesses(String id, Predicate<String> ok) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        String last = "";
        while (System.currentTimeMillis() < deadline) {
            last = ps(id);
            if (ok.test(last)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("processes in the container not as expected: " + last);
    }

    private static CompletableFuture<String> readAll(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (in) {
                f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /** Collects a stream's text as it comes, for waiting on a terminal's output. */
    private static final class Transcript {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        Transcript(InputStream in) {
            Thread.ofVirtual().start(() -> {
                byte[] b = new byte[4096];
                try (in) {
                    int n;
                    while ((n = in.read(b)) >= 0) {
                        synchronized (buf) {
                            buf.write(b, 0, n);
                        }
                    }
                } catch (IOException ignored) {
                    // session over
                }
            });
        }

        String text() {
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }

        void await(Predicate<String> p) throws InterruptedException {
            long deadline = System.currentTimeMillis() + 10_000;
            while (!p.test(text())) {
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError("not seen in time; output so far: " + text());
                }
                Thread.sleep(20);
            }
        }
    }

    private static List<String> sessionThreads() throws InterruptedException {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            names = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                    .filter(n -> n.startsWith("berth-exec-") || n.startsWith("berth-attach-")).toList();
            if (names.isEmpty()) {
                break;
            }
            Thread.sleep(20);
        }
        return names;
    }

    private static int openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        }
    }

    private static List<String> zombieChildren() throws IOException {
        long self = ProcessHandle.current().pid();
        List<String> out = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if (f[0].equals("Z") && Long.parseLong(f[1]) == self) {
                        out.add(stat);
                    }
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        }
        return out;
    }

    private static void run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", argv) + ": " + out);
    }
}
