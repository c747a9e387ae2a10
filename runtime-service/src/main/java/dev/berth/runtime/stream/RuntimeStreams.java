package dev.berth.runtime.stream;

import dev.berth.core.error.BerthException;
import dev.berth.linux.ns.NamespaceThread;
import dev.berth.linux.ns.Namespaces;
import dev.berth.runtime.container.ContainerPaths;
import dev.berth.runtime.container.ContainerRecord;
import dev.berth.runtime.container.ContainerService;
import dev.berth.runtime.exec.ExecProcess;
import dev.berth.runtime.monitor.Conmon;
import dev.berth.runtime.monitor.ConmonAttach;
import dev.berth.runtime.oci.OciRuntimes;
import dev.berth.runtime.sandbox.SandboxLookup;
import dev.berth.runtime.sandbox.SandboxView;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import runtime.v1.ContainerConfig;

/**
 * {@link ContainerStreams} over berth's runtime: exec through {@link ExecProcess} (a conmon of its
 * own per command), attach through the container's conmon ({@link ConmonAttach}), port-forward by
 * connecting a socket inside the pod's pinned network namespace.
 */
public final class RuntimeStreams implements ContainerStreams {
    private static final long EXIT_FILE_WAIT_MS = 5_000;

    private final ContainerService containers;
    private final SandboxLookup pods;
    private final OciRuntimes runtimes;
    private final Conmon conmon;
    private final Path containersRoot;
    private final int queueBytes;

    /**
     * @param containersRoot where container directories live (ContainerService's settings)
     * @param queueBytes bound of each stream's buffer inside the daemon
     */
    public RuntimeStreams(ContainerService containers, SandboxLookup pods, OciRuntimes runtimes, Conmon conmon,
            Path containersRoot, int queueBytes) {
        this.containers = containers;
        this.pods = pods;
        this.runtimes = runtimes;
        this.conmon = conmon;
        this.containersRoot = containersRoot;
        this.queueBytes = queueBytes;
    }

    @Override
    public StdioSession exec(String containerId, List<String> cmd, boolean tty, boolean stdin, boolean stdout,
            boolean stderr) {
        if (cmd == null || cmd.isEmpty()) {
            throw BerthException.invalid("exec needs a command");
        }
        if (!stdin && !stdout && !stderr) {
            throw BerthException.invalid("exec needs at least one of stdin, stdout and stderr");
        }
        ContainerRecord rec = running(containerId, "exec in");
        ContainerPaths paths = ContainerPaths.of(containersRoot, containerId);
        ExecProcess p = ExecProcess.start(conmon, new ExecProcess.Request(containerId,
                runtimes.forHandler(rec.handler()), paths.configJson(), paths.dir(), cmd, tty, stdin, stdout,
                stderr && !tty), queueBytes);
        return new StdioSession() {
            @Override
            public OutputStream stdin() {
                return p.stdin();
            }

            @Override
            public InputStream stdout() {
                return p.stdout();
            }

            @Override
            public InputStream stderr() {
                return p.stderr();
            }

            @Override
            public void resize(int columns, int rows) {
                p.resize(columns, rows);
            }

            @Override
            public int awaitExit() throws InterruptedException {
                return p.awaitExit();
            }

            @Override
            public void close() {
                p.close();
            }
        };
    }

    @Override
    public StdioSession attach(String containerId, boolean stdin, boolean stdout, boolean stderr) {
        if (!stdin && !stdout && !stderr) {
            throw BerthException.invalid("attach needs at least one of stdin, stdout and stderr");
        }
        ContainerRecord rec = running(containerId, "attach to");
        ContainerConfig config = rec.configProto();
        if (stdin && !config.getStdin()) {
            throw BerthException.precondition("container %s was created without stdin; attach cannot write to it",
                    containerId);
        }
        boolean tty = config.getTty();
        ContainerPaths paths = ContainerPaths.of(containersRoot, containerId);
        ConmonAttach a = ConmonAttach.open(containerId, conmon.attachDir(containerId), paths.bundle(), stdin, stdout,
                stderr && !tty, queueBytes);
        return new StdioSession() {
            @Override
            public OutputStream stdin() {
                return a.stdin();
            }

            @Override
            public InputStream stdout() {
                return a.stdout();
            }

            @Override
            public InputStream stderr() {
                return a.stderr();
            }

            @Override
            public void resize(int columns, int rows) {
                if (tty) {
                    a.resize(columns, rows);
                }
            }

            @Override
            public int awaitExit() throws InterruptedException {
                if (!a.awaitEnd()) {
                    return -1;
                }
                // conmon closes its clients just before it writes the exit file.
                long deadline = System.currentTimeMillis() + EXIT_FILE_WAIT_MS;
                while (true) {
                    Optional<Conmon.Exit> exit = conmon.exit(containerId, paths.persist());
                    if (exit.isPresent()) {
                        return exit.get().code();
                    }
                    if (System.currentTimeMillis() > deadline) {
                        return -1;
                    }
                    Thread.sleep(20);
                }
            }

            @Override
            public void close() {
                a.close();
            }
        };
    }

    @Override
    public SocketChannel portForward(String podSandboxId, int port) throws IOException {
        if (port <= 0 || port > 65535) {
            throw BerthException.invalid("port %d is not a TCP port", port);
        }
        SandboxView pod = pods.find(podSandboxId).orElseThrow(() -> BerthException.notFound(
                "pod sandbox %s does not exist", podSandboxId));
        if (!pod.ready()) {
            throw BerthException.precondition("pod sandbox %s is not ready; cannot forward ports into it",
                    podSandboxId);
        }
        Path netns = pod.netNamespacePath();
        if (netns == null) {
            return connectLocal(port, "the host");
        }
        try {
            // A socket belongs to the network namespace of the thread that creates it; once made it
            // can be used from any thread.
            return NamespaceThread.call("portforward", () -> {
                Namespaces.join(netns, Namespaces.CLONE_NEWNET);
                try {
                    return connectLocal(port, "pod " + podSandboxId);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** localhost:port over IPv4, then IPv6, as a client resolving "localhost" would. */
    private static SocketChannel connectLocal(int port, String where) throws IOException {
        IOException first = null;
        for (InetAddress a : List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1"))) {
            SocketChannel ch = SocketChannel.open();
            try {
                ch.connect(new InetSocketAddress(a, port));
                return ch;
            } catch (IOException e) {
                ch.close();
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first instanceof ConnectException) {
            throw new ConnectException("connection to localhost:" + port + " in " + where + " was refused: "
                    + "nothing listens on that port");
        }
        throw new IOException("cannot connect to localhost:" + port + " in " + where + ": " + first.getMessage(),
                first);
    }

    private ContainerRecord running(String containerId, String what) {
        ContainerRecord rec = containers.status(containerId);
        if (rec.phase() != ContainerRecord.Phase.RUNNING) {
            throw BerthException.precondition("container %s is not running (%s); cannot %s it", containerId,
                    rec.phase().name().toLowerCase(), what);
        }
        return rec;
    }
}
