package dev.berth.server.streaming.remotecommand;

import dev.berth.server.streaming.transport.InboundPipe;
import dev.berth.server.streaming.transport.InSink;
import dev.berth.server.streaming.transport.SpdySession;
import dev.berth.server.streaming.transport.SpdyStream;
import dev.berth.server.streaming.transport.StreamConnection;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Exec and attach over SPDY: the client opens one stream per {@code streamtype} header (error,
 * stdin, stdout, stderr and, from v3 with a TTY, resize). The session starts once all expected
 * streams are there; when they do not come within the creation timeout the connection is closed
 * and nothing is started (kubelet: 30 s).
 */
public final class SpdyRemoteCommand implements SpdySession.Listener {
    private static final Logger LOG = Logger.getLogger(SpdyRemoteCommand.class);

    private final RemoteCommandSession session;
    private final StreamConnection connection;
    private final int expected;
    private final ScheduledFuture<?> timeout;
    private int received;
    private boolean started;
    private InboundPipe stdin;
    private SpdyStream stdout;
    private SpdyStream stderr;
    private SpdyStream error;
    private ResizeDecoder resize;

    /**
     * @param options which of stdin, stdout, stderr the request asked for and whether with a TTY
     * @param resizeSupported the negotiated protocol has a resize stream (v3, v4)
     */
    public SpdyRemoteCommand(RemoteCommandSession session, StreamConnection connection, boolean stdin, boolean stdout,
            boolean stderr, boolean tty, boolean resizeSupported, Duration creationTimeout) {
        this.session = session;
        this.connection = connection;
        this.expected = 1 + (stdin ? 1 : 0) + (stdout ? 1 : 0) + (stderr ? 1 : 0) + (tty && resizeSupported ? 1 : 0);
        this.timeout = connection.channel().eventLoop().schedule(() -> {
            LOG.debugf("client opened %d of %d streams in %s; closing", received, expected, creationTimeout);
            connection.abort();
        }, creationTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void streamOpened(SpdyStream s) {
        String type = s.header("streamtype");
        if (type == null) {
            type = "";
        }
        switch (type) {
            case "error" -> error = s;
            case "stdin" -> {
                stdin = new InboundPipe(connection);
                s.setSink(stdin);
            }
            case "stdout" -> stdout = s;
            case "stderr" -> stderr = s;
            case "resize" -> {
                resize = new ResizeDecoder();
                s.setSink(resize);
            }
            default -> {
                // kubelet logs and ignores unknown stream types; they do not count
                LOG.debugf("ignoring a stream of unexpected type '%s'", type);
                s.setSink(InSink.DISCARD);
                return;
            }
        }
        if (++received == expected && !started) {
            started = true;
            timeout.cancel(false);
            session.start(new RemoteCommandSession.Streams(stdin, stdout, stderr, error, resize));
        }
    }

    @Override
    public void connectionClosed() {
        timeout.cancel(false);
    }
}
