package dev.berth.server.streaming.remotecommand;

import dev.berth.runtime.stream.ContainerStreams;
import dev.berth.runtime.stream.StdioSession;
import dev.berth.server.streaming.StreamTarget;
import dev.berth.server.streaming.transport.InboundPipe;
import dev.berth.server.streaming.transport.OutStream;
import dev.berth.server.streaming.transport.OutboundPump;
import dev.berth.server.streaming.transport.StreamConnection;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * One exec or attach, once its streams exist (SPDY or WebSocket alike): starts the process (or
 * attaches), relays stdin, stdout, stderr and resize, reports how it ended on the error stream and
 * closes the connection. When the client goes away first, the process's session is closed (exec:
 * killed; attach: detached). Everything runs on virtual threads; nothing here blocks the event loop.
 */
public final class RemoteCommandSession {
    private static final Logger LOG = Logger.getLogger(RemoteCommandSession.class);

    /** The streams the client opened; null for those it did not. */
    public record Streams(InboundPipe stdin, OutStream stdout, OutStream stderr, OutStream error,
            ResizeDecoder resize) {}

    private final StreamTarget target;
    private final Supplier<ContainerStreams> runtime;
    private final boolean statusAsJson;
    private final StreamConnection connection;

    public RemoteCommandSession(StreamTarget target, Supplier<ContainerStreams> runtime, boolean statusAsJson,
            StreamConnection connection) {
        if (!(target instanceof StreamTarget.Exec) && !(target instanceof StreamTarget.Attach)) {
            throw new IllegalArgumentException("not a remote command: " + target);
        }
        this.target = target;
        this.runtime = runtime;
        this.statusAsJson = statusAsJson;
        this.connection = connection;
    }

    public Thread start(Streams streams) {
        return Thread.ofVirtual().name("stream-" + target.kind()).start(() -> run(streams));
    }

    private void run(Streams s) {
        StdioSession io;
        try {
            io = open();
        } catch (RuntimeException e) {
            LOG.debugf("%s failed to start: %s", target.kind(), e.getMessage());
            finish(s, ExitStatus.internalError("error " + (target instanceof StreamTarget.Exec ? "executing command"
                    : "attaching to container") + " in container: " + e.getMessage()));
            return;
        }
        List<Thread> helpers = new ArrayList<>();
        try {
            connection.onClose(io::close); // client gone: kill (exec) or detach (attach)
            if (s.stdin() != null) {
                OutputStream in = io.stdin();
                if (in != null) {
                    helpers.add(s.stdin().start("stream-stdin", in, null));
                } else {
                    s.stdin().stop();
                }
            }
            if (s.resize() != null) {
                helpers.add(s.resize().start("stream-resize", io::resize));
            }
            List<Thread> outputs = new ArrayList<>();
            if (s.stdout() != null && io.stdout() != null) {
                outputs.add(OutboundPump.start("stream-stdout", io.stdout(), s.stdout()));
            } else if (s.stdout() != null) {
                s.stdout().finish();
            }
            if (s.stderr() != null && io.stderr() != null) {
                outputs.add(OutboundPump.start("stream-stderr", io.stderr(), s.stderr()));
            } else if (s.stderr() != null) {
                s.stderr().finish();
            }
            int exit = io.awaitExit();
            for (Thread t : outputs) {
                t.join(); // all output is sent before the status, as the client reads it last
            }
            finish(s, status(exit));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            connection.abort();
        } finally {
            io.close();
            if (s.stdin() != null) {
                s.stdin().stop();
            }
            helpers.forEach(Thread::interrupt);
        }
    }

    private StdioSession open() {
        ContainerStreams cs = runtime.get();
        return switch (target) {
            case StreamTarget.Exec e -> cs.exec(e.containerId(), e.cmd(), e.tty(), e.stdin(), e.stdout(), e.stderr());
            case StreamTarget.Attach a -> cs.attach(a.containerId(), a.stdin(), a.stdout(), a.stderr());
            default -> throw new IllegalStateException();
        };
    }

    private ExitStatus status(int exit) {
        if (target instanceof StreamTarget.Exec e) {
            if (exit == 0) {
                return ExitStatus.ok();
            }
            if (exit > 0) {
                return ExitStatus.nonZeroExit(e.cmd(), exit);
            }
            return ExitStatus.internalError("error executing command in container: the session ended before "
                    + "the command exited");
        }
        return ExitStatus.ok(); // attach: the container ended or the client detached
    }

    private void finish(Streams s, ExitStatus status) {
        if (s.error() != null) {
            byte[] payload = statusAsJson ? status.json() : status.text();
            s.error().write(payload);
            s.error().finish();
        }
        for (OutStream o : new OutStream[] {s.stdout(), s.stderr()}) {
            if (o != null) {
                o.finish();
            }
        }
        connection.close();
    }
}
