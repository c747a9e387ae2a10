package dev.berth.streamclient;

import java.io.ByteArrayOutputStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The client side of kubelet's WebSocket channel protocols (v4/v5.channel.k8s.io, as crictl's
 * {@code -r websocket}) over the JDK's WebSocket client: every binary message starts with its
 * channel byte (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; 255 with v5 closes a channel).
 * The listener keeps whole messages and the close status.
 */
public final class WebSocketChannels implements WebSocket.Listener {
    private final List<byte[]> received = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

    /** A message for {@code channel} carrying {@code data}. */
    public static ByteBuffer message(int channel, String data) {
        byte[] d = data.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(d.length + 1).put((byte) channel).put(d).flip();
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        partial.writeBytes(b);
        if (last) {
            received.add(partial.toByteArray());
            partial.reset();
        }
        ws.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
        closed.complete(status);
        return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
        closed.completeExceptionally(error);
    }

    /** The close status code the server sent; fails if the connection broke instead. */
    public CompletableFuture<Integer> closed() {
        return closed;
    }

    /** Every whole message so far, channel byte first. */
    public List<byte[]> messages() {
        return received;
    }

    /** The data of every message on {@code channel}, concatenated. */
    public String channel(int channel) {
        return channel(channel, 0);
    }

    /** The data of the messages on {@code channel}, concatenated, after the first {@code skip} of them. */
    public String channel(int channel, int skip) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] m : received) {
            if (m.length > 0 && m[0] == channel && skip-- <= 0) {
                out.write(m, 1, m.length - 1);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
