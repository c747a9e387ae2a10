package dev.berth.server.streaming.portforward;

import dev.berth.runtime.stream.ContainerStreams;
import dev.berth.server.streaming.transport.ChannelWebSocket;
import dev.berth.server.streaming.transport.InSink;
import dev.berth.server.streaming.transport.InboundPipe;
import dev.berth.server.streaming.transport.StreamConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Port forwarding over WebSocket, kubelet's v4 channel protocol: two channels per port of the
 * PortForward request (data 2i, error 2i+1), each opened by a message holding the port as two
 * bytes, little endian. One connection per port for the life of the WebSocket; when all have
 * ended the WebSocket is closed.
 */
public final class WebSocketPortForward {
    private final List<Integer> ports;
    private final InboundPipe[] pipes;
    private final Supplier<ContainerStreams> runtime;
    private final String podSandboxId;
    private final List<ForwardedPort> forwarded = new ArrayList<>();

    public WebSocketPortForward(Supplier<ContainerStreams> runtime, String podSandboxId, List<Integer> ports,
            StreamConnection connection) {
        this.runtime = runtime;
        this.podSandboxId = podSandboxId;
        this.ports = ports;
        this.pipes = new InboundPipe[ports.size()];
        for (int i = 0; i < pipes.length; i++) {
            pipes[i] = new InboundPipe(connection);
        }
    }

    /** The inbound side of every channel: data channels go to their pipe, error channels nowhere. */
    public InSink[] sinks() {
        InSink[] sinks = new InSink[ports.size() * 2];
        for (int i = 0; i < pipes.length; i++) {
            sinks[2 * i] = pipes[i];
        }
        return sinks;
    }

    /** Once the WebSocket is open: announces each channel, then connects and relays every port. */
    public void start(ChannelWebSocket ws, StreamConnection connection) {
        for (int i = 0; i < ports.size(); i++) {
            int port = ports.get(i);
            byte[] portBytes = {(byte) (port & 0xFF), (byte) ((port >> 8) & 0xFF)};
            ws.out(2 * i).write(portBytes);
            ws.out(2 * i + 1).write(portBytes);
            ForwardedPort fp = new ForwardedPort(runtime, podSandboxId, port, pipes[i], ws.out(2 * i),
                    ws.out(2 * i + 1), false);
            forwarded.add(fp);
        }
        connection.onClose(() -> forwarded.forEach(ForwardedPort::cancel));
        List<Thread> threads = forwarded.stream().map(ForwardedPort::start).toList();
        Thread.ofVirtual().name("portforward-ws").start(() -> {
            try {
                for (Thread t : threads) {
                    t.join();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            connection.close();
        });
    }
}
