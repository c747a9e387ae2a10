package dev.berth.server.streaming.portforward;

import dev.berth.runtime.stream.ContainerStreams;
import dev.berth.server.streaming.transport.InboundPipe;
import dev.berth.server.streaming.transport.OutStream;
import dev.berth.server.streaming.transport.OutboundPump;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * One forwarded connection: a TCP connection to {@code localhost:port} in the pod's network
 * namespace, relayed both ways with a data stream; a failure to connect is reported on the error
 * stream in kubelet's words, and other ports and connections go on. The client's end of the data
 * stream shuts down the socket's sending side; the pod's end of the connection ends the data stream.
 */
public final class ForwardedPort {
    private static final Logger LOG = Logger.getLogger(ForwardedPort.class);

    private final Supplier<ContainerStreams> runtime;
    private final String podSandboxId;
    private final int port;
    private final InboundPipe fromClient;
    private final OutStream data;
    private final OutStream error;
    private final boolean resetOnFailure;
    private SocketChannel socket;
    private boolean cancelled;

    /**
     * @param resetOnFailure SPDY: reset both streams after reporting a failure, as kubelet does
     */
    public ForwardedPort(Supplier<ContainerStreams> runtime, String podSandboxId, int port, InboundPipe fromClient,
            OutStream data, OutStream error, boolean resetOnFailure) {
        this.runtime = runtime;
        this.podSandboxId = podSandboxId;
        this.port = port;
        this.fromClient = fromClient;
        this.data = data;
        this.error = error;
        this.resetOnFailure = resetOnFailure;
    }

    public Thread start() {
        return Thread.ofVirtual().name("portforward-" + port).start(this::run);
    }

    /** Ends the forwarding now (client reset the stream, connection gone). */
    public void cancel() {
        SocketChannel s;
        synchronized (this) {
            cancelled = true;
            s = socket;
        }
        fromClient.stop();
        closeQuietly(s);
    }

    private void run() {
        SocketChannel s;
        try {
            s = runtime.get().portForward(podSandboxId, port);
        } catch (IOException | RuntimeException e) {
            String msg = "error forwarding port " + port + " to pod " + podSandboxId + ", uid : " + e.getMessage();
            LOG.debug(msg);
            fromClient.stop();
            error.write(msg.getBytes(StandardCharsets.UTF_8));
            if (resetOnFailure) {
                data.reset();
                error.reset();
            } else {
                error.finish();
            }
            return;
        }
        synchronized (this) {
            if (cancelled) {
                closeQuietly(s);
                return;
            }
            socket = s;
        }
        try {
            fromClient.start("portforward-in-" + port, output(s), () -> shutdownOutput(s));
            OutboundPump.copy(input(s), data);
        } finally {
            error.finish();
            fromClient.stop();
            closeQuietly(s);
        }
    }

    private static void shutdownOutput(SocketChannel s) {
        try {
            s.shutdownOutput();
        } catch (IOException e) {
            // already closed
        }
    }

    private static void closeQuietly(SocketChannel s) {
        if (s == null) {
            return;
        }
        try {
            s.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }

    /** Blocking reads straight on the channel (one reader and one writer may use it at once). */
    private static InputStream input(SocketChannel s) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return s.read(ByteBuffer.wrap(b, off, len));
            }
        };
    }

    private static OutputStream output(SocketChannel s) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                while (buf.hasRemaining()) {
                    s.write(buf);
                }
            }

            @Override
            public void close() throws IOException {
                s.shutdownOutput();
            }
        };
    }
}
